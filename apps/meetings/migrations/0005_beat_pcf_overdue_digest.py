"""Hourly digest of overdue PCFs, one email per rep (issue 6), for django-celery-beat's scheduler."""

from django.db import migrations

TASK = "apps.meetings.tasks.pcf_overdue_digests_task"
NAME = "meetings: hourly overdue PCF digests"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # Hourly at :05: late enough that a call ending on the hour has had its grace period checked,
    # and the cadence the issue asks for; the digest lists every overdue PCF, so nothing is lost
    # if one run is skipped.
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute="5", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(name=NAME, defaults={"task": TASK, "crontab": schedule})


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("meetings", "0004_meeting_utm_content_reschedule_link"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
