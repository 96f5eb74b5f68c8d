"""Acceptance 5: with a real Celery worker and Redis, a worker killed mid-task loses nothing.

A real ``celery -A config worker`` runs against Redis (REDIS_URL) and this test's database. The
test holds an identifier lock that the task's contact resolution needs, so the task is caught
mid-run (inside its transaction, the inbox row locked). The worker is killed with SIGKILL; its
transaction dies with it. A second worker is started; the inbox sweep (what beat runs every few
minutes) enqueues the still-pending row, and the event is processed exactly once. The original
message coming back later (Redis redelivers unacked messages after the visibility timeout) is a
no-op.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.utils import timezone

from apps.contacts.models import Contact
from apps.integrations.models import WebhookEvent
from apps.meetings.models import Meeting
from apps.orgs.locks import LockNamespace, lock_key
from config.celery import app as celery_app
from tests.apps.integrations.webhook_support import encode, set_secrets
from tests.attribution.sources.conftest import load_fixture
from tests.factories import OrganizationFactory

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    # send_task always goes to the broker, which is the point here.
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]

ROOT = Path(__file__).resolve().parents[3]
PROCESS = "apps.integrations.tasks.process_webhook_event"
REQUEUE = "apps.integrations.tasks.requeue_stale_webhook_events"
WAIT = 90  # seconds; generous, two shared cores


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _dsn() -> str:
    db = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        dbname=db["NAME"],
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
    )


class Worker:
    def __init__(self, log: Path, **extra_env: str):
        env = {
            **extra_env,
            # Not the xdist variables: settings_test would shift the Redis database once more.
            **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")},
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.CELERY_BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CONN_MAX_AGE": "0",
        }
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker",
             "-c", "1", "-P", "prefork", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-n", f"webhooks-test-{log.stem}-{uuid.uuid4().hex[:6]}@%h", "--loglevel=INFO"],
            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL takes the pool child too
        )  # fmt: skip
        _until(lambda: "ready." in self.output(), what=f"worker {log.stem} ready", worker=self)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def _until(check, *, what: str, worker: Worker | None = None):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    tail = worker.output()[-3000:] if worker else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def _waiting_for_advisory_lock(conn) -> int | None:
    row = conn.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def _backend_alive(conn, pid: int) -> bool:
    return bool(conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone())


def test_a_worker_killed_mid_task_does_not_lose_the_event(tmp_path):
    org = OrganizationFactory(slug="worker-org")
    set_secrets(org)
    event = WebhookEvent.objects.create(
        org=org,
        provider="calendly",
        event_id=f"worker-test-{uuid.uuid4().hex}",
        event_type="invitee.created",
        body=encode(load_fixture("calendly/invitee.created")),
    )
    # The workers consume the default queue, as in production (the sweep enqueues there). It is
    # emptied first: a message left by an interrupted earlier run could name this row's id.
    celery_app.control.purge()
    first = second = None
    holder = psycopg.connect(_dsn())  # a transaction of its own, outside Django's
    watcher = psycopg.connect(_dsn(), autocommit=True)
    try:
        # Hold the lock contact resolution takes for this email: the task will block there.
        holder.execute(
            "SELECT pg_advisory_xact_lock(%s)",
            [lock_key(LockNamespace.IDENTIFIER, org.pk, "email", "sample0.person@gmail.com")],
        )
        first = Worker(tmp_path / "first.log")
        celery_app.send_task(PROCESS, args=[event.pk])
        stuck_pid = _until(
            lambda: _waiting_for_advisory_lock(watcher), what="the task to block", worker=first
        )
        first.kill()  # mid-task: the inbox row is locked, its transaction open
        holder.rollback()  # lets the orphaned backend run on, find its client gone, roll back
        _until(lambda: not _backend_alive(watcher, stuck_pid), what="the dead task to roll back")

        event.refresh_from_db()
        assert event.status == WebhookEvent.Status.PENDING
        assert event.attempts == 0  # the killed attempt left nothing behind, not even itself
        assert not Contact.objects.filter(org=org).exists()
        assert not Meeting.objects.filter(org=org).exists()

        second = Worker(tmp_path / "second.log")
        # Beat's sweep, a grace period later, finds the row still pending and enqueues it.
        WebhookEvent.objects.filter(pk=event.pk).update(
            received_at=timezone.now() - timedelta(minutes=10)
        )
        celery_app.send_task(REQUEUE)
        _until(
            lambda: WebhookEvent.objects.filter(pk=event.pk, status="processed").exists(),
            what="the event to be processed",
            worker=second,
        )
        # The killed worker's message, redelivered after Redis's visibility timeout: a no-op.
        celery_app.send_task(PROCESS, args=[event.pk])
        _until(
            lambda: second.output().count("succeeded in") >= 3,
            what="the redelivered message",
            worker=second,
        )
    finally:
        for worker in (first, second):
            if worker is not None:
                worker.stop()
        holder.close()
        watcher.close()

    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.attempts == 1  # processed exactly once
    assert Meeting.objects.filter(org=org).count() == 1
    assert Contact.objects.filter(org=org).count() == 1
