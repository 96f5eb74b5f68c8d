from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "apps.integrations"
    label = "integrations"
    verbose_name = "Integrations"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        # Celery autodiscovers only `tasks` modules; the sync's tasks live beside them.
        from apps.contacts.privacy import delivery_eraser_register
        from apps.integrations import sync_tasks  # noqa: F401
        from apps.integrations.erasure import webhook_events_erase
        from apps.integrations.models import Credential
        from apps.integrations.webhooks import webhook_receivers_forget
        from apps.orgs.models import Organization

        # An erasure blanks the person's raw deliveries in the inbox too.
        delivery_eraser_register("webhook_events", webhook_events_erase)
        # A changed org or secret must reach the webhook endpoint's per-process cache at once.
        for model in (Organization, Credential):
            for name, signal in (("save", post_save), ("delete", post_delete)):
                signal.connect(
                    webhook_receivers_forget,
                    sender=model,
                    dispatch_uid=f"webhook-receivers-{model.__name__}-{name}",
                )
