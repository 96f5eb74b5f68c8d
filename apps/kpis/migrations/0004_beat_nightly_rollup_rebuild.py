"""Nightly rebuild of every org's KPI rollups, for django-celery-beat's database scheduler."""

from django.db import migrations

TASK = "apps.kpis.tasks.rollup_rebuild_nightly"
NAME = "kpis: nightly rollup rebuild"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # Daily at 03:30 UTC, after the nightly syncs: repairs whatever bulk writes (queryset
    # update, bulk_create) changed without the signals that keep the rollups current by day.
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(name=NAME, defaults={"task": TASK, "crontab": schedule})


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0003_rollup_cubes"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
