"""Nightly rebuild of every org's KPI rollups, daily at 03:30 UTC after the nightly syncs: repairs
whatever bulk writes (queryset update, bulk_create) changed without the signals that keep the
rollups current by day."""

from django.db import migrations

from apps.orgs.beat import beat_entry


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0003_rollup_cubes"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        beat_entry(
            name="kpis: nightly rollup rebuild",
            task="apps.kpis.tasks.rollup_rebuild_nightly",
            minute="30",
            hour="3",
        )
    ]
