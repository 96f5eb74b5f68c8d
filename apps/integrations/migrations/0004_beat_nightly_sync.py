"""The nightly sync fan-out, daily at 02:00 UTC: a quiet hour for the providers, and before the
03:30 rollup rebuild so the dashboards of the morning include what the sync repaired."""

from django.db import migrations

from apps.orgs.beat import beat_entry


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0003_credential_rotation_and_rejection"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        beat_entry(
            name="integrations: nightly sync",
            task="apps.integrations.sync_tasks.sync_all_task",
            minute="0",
            hour="2",
        )
    ]
