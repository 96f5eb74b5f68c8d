"""After `migrate`, beat's database schedule holds every periodic job, each naming a task the
worker knows (a typo in a task path would otherwise fail silently, at night)."""

import pytest
from django_celery_beat.models import PeriodicTask

from config.celery import app

pytestmark = pytest.mark.django_db

EXPECTED = {
    "integrations: nightly sync": ("apps.integrations.sync_tasks.sync_all_task", "0", "2"),
    "integrations: requeue stale webhook events": (
        "apps.integrations.tasks.requeue_stale_webhook_events",
        "*/5",
        "*",
    ),
    "meetings: hourly overdue PCF digests": (
        "apps.meetings.tasks.pcf_overdue_digests_task",
        "5",
        "*",
    ),
    "kpis: nightly rollup rebuild": ("apps.kpis.tasks.rollup_rebuild_nightly", "30", "3"),
    "marketing: nightly journey rebuild": (
        "apps.marketing.tasks.journeys_rebuild_nightly",
        "45",
        "3",
    ),
    "ops: beat heartbeat": ("apps.ops.tasks.beat_heartbeat_task", "*", "*"),
    "notifications: daily reports and alerts": (
        "apps.notifications.tasks.notifications_tick_task",
        "*/15",
        "*",
    ),
    "forecast: nightly deal-probability training": (
        "apps.forecast.tasks.forecast_train_nightly",
        "15",
        "4",
    ),
}


def test_every_periodic_job_is_scheduled_and_names_a_registered_task():
    app.loader.import_default_modules()
    scheduled = {t.name: t for t in PeriodicTask.objects.select_related("crontab")}
    for name, (task, minute, hour) in EXPECTED.items():
        entry = scheduled[name]
        assert (entry.task, entry.crontab.minute, entry.crontab.hour) == (task, minute, hour)
        assert entry.crontab.timezone.key == "UTC"
    assert set(scheduled) == set(EXPECTED)
    for entry in scheduled.values():
        assert entry.task in app.tasks, f"{entry.name} names an unknown task {entry.task}"
