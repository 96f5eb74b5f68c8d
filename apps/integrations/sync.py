"""Nightly sync services: backfill and incremental pulls from each provider's list API.

Every item goes through the provider's parse function and, a page at a time,
``ingest_records(via="sync")``: the same handlers a webhook's ``ingest_record`` runs, so a record
delivered both ways is one row. A provider's syncer (``providers/<name>/sync.py``, on
syncing.ProviderSync) says what to walk; the walk's cursor is in sync_walk.py, the page writer
in sync_pages.py, and the pages applied by page workers in side_by_side.py. Each walk's position
is saved in the same transaction as the last part of the page it follows, so a run killed
mid-way resumes at the first page it had not committed, and re-reading that page is harmless
because ingestion is idempotent.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.utils import timezone

from apps.integrations.errors import (
    AuthError,
    ProviderError,
    SyncError,
    quotes_values,
    run_error_text,
)
from apps.integrations.models import Credential, SyncRun
from apps.integrations.providers import PROVIDERS, Provider, provider_named
from apps.integrations.services import credential_reject
from apps.integrations.side_by_side import page_apply
from apps.orgs import crypto
from apps.orgs.locks import LockBusy, LockNamespace, session_lock
from apps.orgs.models import Organization
from apps.orgs.services import team_member_link

__all__ = [
    "PROVIDERS",
    "SyncAlreadyRunning",
    "SyncError",
    "SyncInterrupted",
    "SyncNotConfigured",
    "collect_less_often",
    "connected_integrations",
    "latest_run",
    "page_apply",
    "sync_request",
    "sync_run",
    "sync_status",
    "team_member_link",
]

# Who hears of a finished run (apps.notifications, registered in its AppConfig.ready): the app
# above registers itself, so the sync imports nothing above it. Watchers must not raise.
_SYNC_RUN_WATCHERS: dict[str, Callable[[SyncRun], None]] = {}


def sync_run_watcher_register(name: str, watcher: Callable[[SyncRun], None]) -> None:
    _SYNC_RUN_WATCHERS[name] = watcher


def sync_run_watchers_notify(run: SyncRun) -> None:
    for name, watcher in _SYNC_RUN_WATCHERS.items():
        try:
            watcher(run)
        except Exception:  # a watcher's failure must not turn a recorded run into a crash
            logger.exception("sync run watcher %s failed on run %s", name, run.pk)


logger = logging.getLogger(__name__)


class SyncNotConfigured(SyncError):
    pass


class SyncAlreadyRunning(SyncError):
    pass


class SyncInterrupted(SyncError):
    """The worker's soft time limit stopped the run: it is recorded as failed (``run``) with its
    cursor saved, and a fresh task carries on from there."""

    def __init__(self, run: SyncRun):
        super().__init__(run.error)
        self.run = run


ProgressCallback = Callable[[SyncRun], None]


# --- entry points ---------------------------------------------------------------------------


def connected_integrations(*, org: Organization | None = None) -> list[tuple[int, str]]:
    """(org id, provider) for every org (or ``org``) holding a usable API credential, sorted."""
    pairs = set()
    credentials = Credential.objects.filter(rejected_at__isnull=True)
    if org is not None:
        credentials = credentials.for_org(org)
    rows = credentials.values_list("org_id", "provider", "name")
    for org_id, provider, name in rows:
        spec = provider_named(provider, default=None)
        if spec is not None and spec.api_credential == name:
            pairs.add((org_id, provider))
    return sorted(pairs)


def sync_run(
    *,
    org: Organization,
    provider: str,
    full: bool = False,
    since: datetime | None = None,
    client=None,
    client_options: Mapping[str, Any] | None = None,
    on_progress: ProgressCallback | None = None,
) -> SyncRun:
    """Runs one provider's sync for one org and returns its SyncRun (succeeded or failed).

    Raises SyncNotConfigured without a usable credential and SyncAlreadyRunning when another
    process holds this org+provider; every other failure is recorded on the run, and one that
    the soft time limit caused is raised after that as SyncInterrupted.
    """
    spec = provider_named(provider, default=None)
    if spec is None:
        raise SyncError(f"Unknown provider {provider!r}; one of {', '.join(PROVIDERS)}.")
    credential = _usable_credential(org, spec)
    with _exclusive(org, provider):
        # We hold the lock, so a run still marked running was killed: say so.
        SyncRun.objects.filter(org=org, provider=provider, status=SyncRun.Status.RUNNING).update(
            status=SyncRun.Status.FAILED,
            error="interrupted (the process stopped); the next run resumed from its cursor",
            finished_at=timezone.now(),
        )
        run = SyncRun.objects.create(org=org, provider=provider, full=full)
        logger.info("sync run %s of %s/%s started (full=%s)", run.pk, org.slug, provider, full)
        interrupted = _run_recorded(
            run,
            spec=spec,
            credential=credential,
            client=client,
            client_options=client_options,
            since=since,
            on_progress=on_progress,
        )
    if interrupted:
        raise SyncInterrupted(run)
    return run


def _usable_credential(org: Organization, spec: Provider) -> Credential:
    credential = Credential.objects.filter(
        org=org, provider=spec.name, name=spec.api_credential
    ).first()
    if credential is None:
        raise SyncNotConfigured(f"{spec.name}: no {spec.api_credential} saved for {org.slug}")
    if credential.rejected_at is not None:
        raise SyncNotConfigured(
            f"{spec.name}: the saved {spec.api_credential} was refused "
            f"({credential.rejection}); save a new one first"
        )
    return credential


def _run_recorded(
    run: SyncRun,
    *,
    spec: Provider,
    credential: Credential,
    client,
    client_options: Mapping[str, Any] | None,
    since: datetime | None,
    on_progress: ProgressCallback | None,
) -> bool:
    """Runs the provider's syncer and records on ``run`` how it ended; True when the soft time
    limit stopped it (the caller raises that once the run's lock is released)."""
    org = run.org
    started = time.monotonic()
    interrupted = False
    try:
        if client is None:
            token = crypto.decrypt(credential.encrypted_value)
            client = spec.client(token, **(client_options or {}))
        syncer = spec.syncer(
            org=org, client=client, run=run, full=run.full, since=since, on_progress=on_progress
        )
        try:
            with collect_less_often():
                syncer.sync()
        finally:
            syncer.close()
            run.reconciliation = syncer.reconciliation
        run.status = SyncRun.Status.SUCCEEDED
    except AuthError as exc:
        credential_reject(credential=credential, reason=str(exc))
        run.status = SyncRun.Status.FAILED
        run.error = str(exc)
    except ProviderError as exc:
        run.status = SyncRun.Status.FAILED
        run.error = str(exc)
    except Exception as exc:
        run.status = SyncRun.Status.FAILED
        run.error = run_error_text(exc)
        interrupted = isinstance(exc, SoftTimeLimitExceeded)
        if quotes_values(exc):
            logger.error("sync %s/%s failed: %s", org.slug, spec.name, run.error)
        else:
            logger.exception("sync %s/%s failed", org.slug, spec.name)
    finally:
        _run_finish(run, started=started, client=client, on_progress=on_progress)
    return interrupted


def _run_finish(run: SyncRun, *, started: float, client, on_progress) -> None:
    run.finished_at = timezone.now()
    run.progress = {
        **run.progress,
        "duration_s": round(time.monotonic() - started, 3),
        "requests": getattr(client, "requests_sent", None),
        "rate_limit_wait_s": round(getattr(client, "waited_for_rate_limits", 0.0), 3),
    }
    if run.status == SyncRun.Status.RUNNING:  # a BaseException is on its way up
        run.status = SyncRun.Status.FAILED
        run.error = run.error or "stopped"
    run.save()
    logger.info(
        "sync run %s of %s/%s %s in %ss",
        run.pk, run.org.slug, run.provider, run.status, run.progress["duration_s"],
    )  # fmt: skip
    if on_progress:
        on_progress(run)
    sync_run_watchers_notify(run)  # e.g. notifications announces a failed run


def latest_run(*, org: Organization, provider: str) -> SyncRun | None:
    return SyncRun.objects.for_org(org).filter(provider=provider).order_by("-started_at").first()


# --- machinery ------------------------------------------------------------------------------


@contextmanager
def _exclusive(org: Organization, provider: str):
    """One run per org+provider at a time, across workers (a session lock)."""
    try:
        with session_lock(LockNamespace.SYNC_RUN, org.pk, provider):
            yield
    except LockBusy:
        raise SyncAlreadyRunning(f"{provider}: a sync of {org.slug} is already running") from None


@contextmanager
def collect_less_often():
    """Fewer cyclic garbage collections while a sync runs, as the defaults are restored after.

    A backfill allocates millions of short-lived objects next to the identity resolver's large
    caches; at the default thresholds the collector walked those caches so often that it took
    a fifth of a late page's time (measured with bench/sync/run.py at 30,000 responses).
    """
    before = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


# --- sync now -------------------------------------------------------------------------------


def sync_request(*, org: Organization, provider: str, actor) -> bool:
    """Queues a sync of ``provider`` now ("sync now"); False when it cannot run (not connected,
    credential refused) or one is already running."""
    from apps.integrations.sync_tasks import sync_provider_task
    from apps.orgs.background import enqueue
    from apps.orgs.services import audit_log_write

    if (org.pk, provider) not in connected_integrations(org=org):
        return False
    latest = latest_run(org=org, provider=provider)
    if latest is not None and latest.status == SyncRun.Status.RUNNING:
        return False
    with transaction.atomic():
        audit_log_write(org=org, actor=actor, action="integrations.sync_now", provider=provider)
        # Enqueued once the audit row is committed, so a worker never races the request.
        transaction.on_commit(lambda: enqueue(sync_provider_task, org.pk, provider))
    return True


def sync_status(*, org: Organization, provider: str) -> dict[str, Any]:
    credential = (
        Credential.objects.for_org(org)
        .filter(provider=provider, name=provider_named(provider).api_credential)
        .first()
    )
    run = latest_run(org=org, provider=provider)
    return {
        "provider": provider,
        "connected": credential is not None and credential.rejected_at is None,
        "rejection": credential.rejection if credential and credential.rejected_at else "",
        "run": run,
        "running": run is not None and run.status == SyncRun.Status.RUNNING,
    }
