from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "apps.orgs"
    label = "orgs"
    verbose_name = "Organisations and team"

    def ready(self):
        from apps.orgs import lookups  # noqa: F401  (registers field__any)
        from apps.orgs.adapters import install_fail_open_rate_limits

        install_fail_open_rate_limits()
