from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "apps.orgs"
    label = "orgs"
    verbose_name = "Organisations and team"

    def ready(self):
        # Imported for what they register: the field__any lookup and the audit receivers.
        from apps.orgs import lookups, signals  # noqa: F401
        from apps.orgs.adapters import install_fail_open_rate_limits

        install_fail_open_rate_limits()
