from django.apps import AppConfig


class ForecastConfig(AppConfig):
    name = "apps.forecast"
    label = "forecast"
    verbose_name = "Deal probability"
