from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "apps.integrations"
    label = "integrations"
    verbose_name = "Integrations"

    def ready(self):
        # Celery autodiscovers only `tasks` modules; the sync's tasks live beside them.
        from apps.integrations import sync_tasks  # noqa: F401
