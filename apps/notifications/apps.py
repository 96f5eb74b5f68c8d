from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    verbose_name = "Notifications"

    def ready(self):
        from apps.integrations.sync import sync_run_watcher_register
        from apps.notifications.services import sync_run_alert

        # A failed sync run or a refused credential is announced on the org's channels.
        sync_run_watcher_register("notifications", lambda run: sync_run_alert(run=run))
