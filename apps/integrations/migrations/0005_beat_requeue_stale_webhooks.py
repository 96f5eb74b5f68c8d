"""Every five minutes: re-enqueue inbox rows whose queue message was lost (a crash between the
commit and the enqueue, a broker outage), instead of waiting for Redis's visibility timeout."""

from django.db import migrations

from apps.orgs.beat import beat_entry


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0004_beat_nightly_sync"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        beat_entry(
            name="integrations: requeue stale webhook events",
            task="apps.integrations.tasks.requeue_stale_webhook_events",
            minute="*/5",
        )
    ]
