"""Every 15 minutes: the daily reports whose org-local time has passed (an org picks its time
on the quarter hour) and the webhook alerts. Idempotent deliveries make a late or repeated
tick harmless: a report already sent is not sent again."""

from django.db import migrations

from apps.orgs.beat import beat_entry


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        beat_entry(
            name="notifications: daily reports and alerts",
            task="apps.notifications.tasks.notifications_tick_task",
            minute="*/15",
        )
    ]
