"""Beat entries created by data migrations, idempotently, for django-celery-beat's database
scheduler: admins may then edit or disable them, and a re-run of `migrate` leaves them alone."""

from django.db import migrations


def beat_entry(*, name: str, task: str, **crontab: str) -> migrations.RunPython:
    """A RunPython that creates the PeriodicTask `name` on a UTC crontab (fields default to *)."""
    fields = {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*"}
    fields |= {"month_of_year": "*", **crontab}

    def create(apps, schema_editor):
        CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
        PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
        schedule, _ = CrontabSchedule.objects.get_or_create(timezone="UTC", **fields)
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": schedule})

    def remove(apps, schema_editor):
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name).delete()

    return migrations.RunPython(create, remove)
