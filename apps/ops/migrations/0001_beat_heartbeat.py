"""Every minute: the beat heartbeat /readyz reads (apps/ops/health.py), so a stopped beat, or
a worker that no longer drains the default queue, shows up within READYZ_BEAT_MAX_AGE_MINUTES."""

from django.db import migrations

from apps.orgs.beat import beat_entry


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [beat_entry(name="ops: beat heartbeat", task="apps.ops.tasks.beat_heartbeat_task")]
