from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "apps.marketing"
    label = "marketing"
    verbose_name = "Marketing attribution and campaigns"

    def ready(self):
        from apps.marketing import signals

        signals.connect()
