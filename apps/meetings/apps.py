from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "apps.meetings"
    label = "meetings"
    verbose_name = "Calls and post-call forms"

    def ready(self):
        from apps.meetings import signals  # noqa: F401
