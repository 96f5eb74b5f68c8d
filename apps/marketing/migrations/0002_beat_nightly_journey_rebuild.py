"""Nightly rebuild of every org's journey table, daily at 03:45 UTC after the KPI rollups:
repairs whatever bulk writes (queryset update, bulk_create) changed without the signals that
keep the journeys current per contact."""

from django.db import migrations

from apps.orgs.beat import beat_entry


class Migration(migrations.Migration):
    dependencies = [
        ("marketing", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        beat_entry(
            name="marketing: nightly journey rebuild",
            task="apps.marketing.tasks.journeys_rebuild_nightly",
            minute="45",
            hour="3",
        )
    ]
