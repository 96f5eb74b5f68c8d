"""The nightly schedule (migration 0004) and the fan-out it runs."""

from __future__ import annotations

import importlib

import pytest
from celery.exceptions import Retry, SoftTimeLimitExceeded
from django.apps import apps as django_apps
from django_celery_beat.models import PeriodicTask

from apps.integrations import sync_tasks
from apps.integrations.models import Credential, SyncRun
from apps.integrations.services import credential_reject, credential_set
from apps.integrations.tasks import process_webhook_event
from config.celery import app as celery_app

NAME = "integrations: nightly sync"


@pytest.mark.django_db
def test_after_migrate_the_nightly_fan_out_is_scheduled_at_two_utc():
    task = PeriodicTask.objects.get(name=NAME)
    assert task.task == "apps.integrations.sync_tasks.sync_all_task"
    assert task.enabled
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_week, cron.day_of_month, cron.month_of_year) == (
        "0",
        "2",
        "*",
        "*",
        "*",
    )
    assert str(cron.timezone) == "UTC"
    # A worker knows the task by that name (sync_tasks is not a `tasks` module).
    assert task.task in celery_app.tasks


@pytest.mark.django_db
def test_the_schedule_migration_is_idempotent_and_keeps_admin_edits():
    migration = importlib.import_module("apps.integrations.migrations.0004_beat_nightly_sync")
    (create_entry,) = migration.Migration.operations
    PeriodicTask.objects.filter(name=NAME).update(enabled=False)  # edited in admin
    create_entry.code(django_apps, None)
    create_entry.code(django_apps, None)
    assert PeriodicTask.objects.filter(name=NAME).count() == 1
    assert PeriodicTask.objects.get(name=NAME).enabled is False


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(sync_tasks.sync_provider_task, "delay", lambda *args: calls.append(args))
    return calls


@pytest.mark.django_db
def test_the_fan_out_enqueues_one_task_per_connected_integration(team_a, team_b, enqueued):
    a, b = team_a.org, team_b.org
    credential_set(org=a, provider="calendly", name="api_token", value="t1", actor=None)
    credential_set(org=a, provider="close", name="api_key", value="k1", actor=None)
    # A webhook secret alone is no API access: nothing to sync with it.
    credential_set(org=a, provider="stripe", name="webhook_secret", value="whsec_x", actor=None)
    refused = credential_set(org=a, provider="whop", name="api_key", value="w1", actor=None)
    credential_reject(credential=refused, reason="whop refused the credential (HTTP 401)")
    # Org B has no credentials at all.

    assert sync_tasks.sync_all_task() == 2

    assert sorted(enqueued) == sorted([(a.pk, "calendly"), (a.pk, "close")])
    assert not [args for args in enqueued if args[0] == b.pk]


@pytest.mark.django_db
def test_the_fan_out_enqueues_nothing_without_credentials(team_a, team_b, enqueued):
    assert sync_tasks.sync_all_task() == 0
    assert enqueued == []


@pytest.mark.django_db
def test_the_per_org_task_skips_an_org_without_credentials(team_a, enqueued):
    assert sync_tasks.sync_provider_task.run(team_a.org.pk, "calendly") is None
    assert not SyncRun.objects.exists()
    assert sync_tasks.sync_provider_task.run(999_999, "calendly") is None


@pytest.mark.django_db
def test_the_per_org_task_does_not_retry_a_refused_credential(team_a, monkeypatch):
    org = team_a.org
    credential_set(org=org, provider="calendly", name="api_token", value="t1", actor=None)

    def refused(**kwargs):
        Credential.objects.filter(org=org).update(rejected_at="2026-01-01T00:00:00Z")
        return SyncRun.objects.create(
            org=org, provider="calendly", status=SyncRun.Status.FAILED, error="refused"
        )

    monkeypatch.setattr(sync_tasks, "sync_run", refused)
    run_id = sync_tasks.sync_provider_task.run(org.pk, "calendly")
    assert SyncRun.objects.get(pk=run_id).status == SyncRun.Status.FAILED


@pytest.mark.django_db
def test_the_per_org_task_retries_after_a_provider_outage(team_a, monkeypatch):
    org = team_a.org
    credential_set(org=org, provider="calendly", name="api_token", value="t1", actor=None)
    monkeypatch.setattr(
        sync_tasks,
        "sync_run",
        lambda **kwargs: SyncRun.objects.create(
            org=org, provider="calendly", status=SyncRun.Status.FAILED, error="HTTP 503"
        ),
    )
    with pytest.raises(Retry):
        sync_tasks.sync_provider_task.run(org.pk, "calendly")


@pytest.mark.django_db
def test_a_backfill_stopped_by_the_time_limit_continues_in_a_fresh_task(
    team_a, monkeypatch, enqueued
):
    org = team_a.org
    credential_set(org=org, provider="calendly", name="api_token", value="t1", actor=None)

    class StoppedByTheTimeLimit:
        def me(self):
            raise SoftTimeLimitExceeded()

    real_sync_run = sync_tasks.sync_run
    monkeypatch.setattr(
        sync_tasks,
        "sync_run",
        lambda **kwargs: real_sync_run(**kwargs, client=StoppedByTheTimeLimit()),
    )
    run_id = sync_tasks.sync_provider_task.run(org.pk, "calendly", True)
    assert enqueued == [(org.pk, "calendly", True)]
    run = SyncRun.objects.get(pk=run_id)
    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("SoftTimeLimitExceeded")


@pytest.mark.django_db
def test_a_failure_is_continued_by_its_type_not_by_its_text(team_a, monkeypatch, enqueued):
    org = team_a.org
    credential_set(org=org, provider="calendly", name="api_token", value="t1", actor=None)
    monkeypatch.setattr(
        sync_tasks,
        "sync_run",
        lambda **kwargs: SyncRun.objects.create(
            org=org,
            provider="calendly",
            status=SyncRun.Status.FAILED,
            error="SoftTimeLimitExceeded: a provider's message that only reads like one",
        ),
    )
    with pytest.raises(Retry):
        sync_tasks.sync_provider_task.run(org.pk, "calendly", True)
    assert enqueued == []


@pytest.mark.django_db
def test_syncs_queue_apart_from_webhooks_so_a_backfill_never_holds_them_up(team_a, settings):
    """Through the real broker: the sync lands on the "sync" queue that its own workers read,
    webhook processing and the fan-out on the default one."""
    import redis

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("celery", "sync")
    celery_app.conf.task_always_eager = False
    try:
        sync_tasks.sync_provider_task.delay(team_a.org.pk, "calendly")
        sync_tasks.sync_all_task.delay()
        process_webhook_event.delay(1)
        queued = {queue: broker.llen(queue) for queue in ("celery", "sync")}
    finally:
        celery_app.conf.task_always_eager = True
        broker.delete("celery", "sync")
    assert queued == {"celery": 2, "sync": 1}
