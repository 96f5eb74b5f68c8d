from django.apps import AppConfig


class KpisConfig(AppConfig):
    name = "apps.kpis"
    label = "kpis"
    verbose_name = "KPIs and ad spend"

    def ready(self):
        from apps.kpis import signals

        signals.connect()
