"""The nightly sync fan-out, for django-celery-beat's database scheduler (editable in admin)."""

from django.db import migrations

TASK = "apps.integrations.sync_tasks.sync_all_task"
NAME = "integrations: nightly sync"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # Daily at 02:00 UTC, a quiet hour for the providers, and before the 03:30 rollup rebuild
    # so the dashboards of the morning include what the sync repaired.
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(name=NAME, defaults={"task": TASK, "crontab": schedule})


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0003_credential_rotation_and_rejection"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
