from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data of ``make run`` (manage.py seed_demo): the top layer, it may use every app."""

    name = "apps.demo"
    label = "demo"
    verbose_name = "Demo data"
