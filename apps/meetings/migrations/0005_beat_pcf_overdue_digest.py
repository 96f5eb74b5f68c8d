"""Hourly digest of overdue PCFs, one email per rep, for django-celery-beat's scheduler.

At :05: late enough that a call ending on the hour has had its grace period checked; the digest
lists every overdue PCF, so nothing is lost if one run is skipped."""

from django.db import migrations

from apps.orgs.beat import beat_entry


class Migration(migrations.Migration):
    dependencies = [
        ("meetings", "0004_meeting_utm_content_reschedule_link"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        beat_entry(
            name="meetings: hourly overdue PCF digests",
            task="apps.meetings.tasks.pcf_overdue_digests_task",
            minute="5",
        )
    ]
