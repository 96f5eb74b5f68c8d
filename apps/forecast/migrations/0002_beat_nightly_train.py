"""The nightly deal-probability training fan-out, daily at 04:15 UTC: after the 02:00 sync and
the 03:30 rollup rebuild, so each org's model learns from the outcomes the night repaired."""

from django.db import migrations

from apps.orgs.beat import beat_entry


class Migration(migrations.Migration):
    dependencies = [
        ("forecast", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        beat_entry(
            name="forecast: nightly deal-probability training",
            task="apps.forecast.tasks.forecast_train_nightly",
            minute="15",
            hour="4",
        )
    ]
