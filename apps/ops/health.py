"""Readiness checks behind /readyz: plain functions, each answering (ok, detail) or raising.

`readiness()` times every check and turns an exception into a failed check named by its class
only: an exception's text can carry a host, a user name or a value, and /readyz is public.
Details are fixed phrases and numbers, never data.
"""

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Min

from apps.integrations.models import WebhookEvent

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "ops:beat-heartbeat"
# Long enough to outlive any outage worth reporting as "stale" rather than "missing".
HEARTBEAT_TTL_SECONDS = 7 * 24 * 3600

CheckAnswer = tuple[bool, str]

_redis_clients: dict[str, redis.Redis] = {}
# Applied migrations do not become unapplied while a process runs (a deploy starts new
# processes), so one positive answer stands; a negative one is asked again each time, since
# `migrate` may run beside an already started web process.
_migrations_applied = False


def _redis(url: str) -> redis.Redis:
    # One client (and its connection pool) per process: a new TCP connection per probe would
    # cost more than the PING itself.
    client = _redis_clients.get(url)
    if client is None:
        timeout = settings.READYZ_REDIS_TIMEOUT_SECONDS
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
        )
        _redis_clients[url] = client
    return client


def _statement_timeout(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SET LOCAL statement_timeout = %s", [settings.READYZ_DB_STATEMENT_TIMEOUT_MS]
            )


def check_database(connection: BaseDatabaseWrapper | None = None) -> CheckAnswer:
    connection = connection or connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return True, "SELECT 1 answered"


def check_redis(url: str | None = None) -> CheckAnswer:
    url = settings.REDIS_URL if url is None else url
    if not url:
        return True, "skipped: no REDIS_URL (cache in memory, tasks in-process)"
    _redis(url).ping()
    return True, "PING answered"


def check_migrations(connection: BaseDatabaseWrapper | None = None) -> CheckAnswer:
    global _migrations_applied
    if _migrations_applied:
        return True, "all applied"
    connection = connection or connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return False, f"{len(plan)} unapplied"
    _migrations_applied = True
    return True, "all applied"


def beat_heartbeat_record(url: str | None = None) -> None:
    url = settings.REDIS_URL if url is None else url
    if url:
        _redis(url).set(HEARTBEAT_KEY, repr(time.time()), ex=HEARTBEAT_TTL_SECONDS)


def check_beat(url: str | None = None) -> CheckAnswer:
    url = settings.REDIS_URL if url is None else url
    if settings.CELERY_TASK_ALWAYS_EAGER or not url:
        return True, "skipped: tasks run in-process, there is no beat"
    raw = _redis(url).get(HEARTBEAT_KEY)
    if raw is None:
        return False, "no heartbeat recorded"
    age_minutes = (time.time() - float(raw)) / 60
    limit = settings.READYZ_BEAT_MAX_AGE_MINUTES
    if age_minutes > limit:
        return False, f"last heartbeat {age_minutes:.1f} min ago (limit {limit})"
    return True, f"last heartbeat {age_minutes:.1f} min ago"


def check_inbox(connection: BaseDatabaseWrapper | None = None) -> CheckAnswer:
    connection = connection or connections[DEFAULT_DB_ALIAS]
    with transaction.atomic(using=connection.alias):
        # A huge backlog must not turn the probe into a slow query (index on status, received_at).
        _statement_timeout(connection)
        oldest = (
            WebhookEvent.objects.using(connection.alias)
            .filter(status=WebhookEvent.Status.PENDING)
            .aggregate(oldest=Min("received_at"))["oldest"]
        )
    if oldest is None:
        return True, "no pending webhook events"
    age_minutes = (datetime.now(UTC) - oldest).total_seconds() / 60
    limit = settings.READYZ_INBOX_MAX_AGE_MINUTES
    if age_minutes > limit:
        return False, f"oldest pending event {age_minutes:.1f} min old (limit {limit})"
    return True, f"oldest pending event {age_minutes:.1f} min old"


def _run(check: Callable[[], CheckAnswer]) -> dict:
    started = time.perf_counter()
    # A failed dependency is an answer (a 503 naming it), never a 500.
    try:
        ok, detail = check()
    except Exception as exc:
        ok, detail = False, f"error: {type(exc).__name__}"
        logger.warning("readiness check %s failed: %s", check.__name__, type(exc).__name__)
    return {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 2), "detail": detail}


def _not_checked(because: str) -> dict:
    return {"ok": False, "ms": 0.0, "detail": f"not checked: {because} failed"}


def readiness() -> dict:
    """The /readyz document: every check, and "ok" only when all of them passed."""
    checks = {"database": _run(check_database)}
    # Without the database (or Redis) the checks that read it could only wait for it again.
    for name, check in (("migrations", check_migrations), ("webhook_inbox", check_inbox)):
        checks[name] = _run(check) if checks["database"]["ok"] else _not_checked("database")
    checks["redis"] = _run(check_redis)
    checks["beat"] = _run(check_beat) if checks["redis"]["ok"] else _not_checked("redis")
    status = "ok" if all(c["ok"] for c in checks.values()) else "fail"
    return {"status": status, "checks": checks}
