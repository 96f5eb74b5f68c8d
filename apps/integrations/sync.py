"""Nightly sync services: backfill and incremental pulls from each provider's list API.

Every item goes through the provider's parse function and, a page at a time,
``ingest_records(via="sync")``: the same handlers a webhook's ``ingest_record`` runs, so a record
delivered both ways is one row. Each list walk keeps a SyncCursor per (org, provider,
resource): the position is saved in the same transaction as the last part of the page it
follows (a page is applied TRANSACTION_ITEMS items per transaction), so a run killed mid-way
resumes at the first page it had not committed, and re-reading that page is harmless because
ingestion is idempotent. A walk of several pages may be applied by page workers
(page_workers.py), which keep the same promise.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
import logging
import os
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings as django_settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from apps.contacts.services import contacts_created_collect, namesakes_review
from apps.integrations import crypto
from apps.integrations.clients import AuthError, Page, ProviderError
from apps.integrations.clients.calendly import CalendlyClient
from apps.integrations.clients.close import CloseClient
from apps.integrations.clients.stripe import StripeClient
from apps.integrations.clients.typeform import TypeformClient
from apps.integrations.clients.whop import WhopClient
from apps.integrations.errors import quotes_values, run_error_text
from apps.integrations.limits import field_limits
from apps.integrations.models import Credential, SyncCursor, SyncRun
from apps.integrations.page_workers import PagePool, PageWorkerError
from apps.integrations.services import credential_reject
from apps.kpis.signals import rollups_deferred
from apps.orgs.locks import LockBusy, LockNamespace, session_lock
from apps.orgs.models import Organization
from apps.orgs.services import team_member_link
from attribution.sources import calendly, clean, close, stripe, typeform, whop
from attribution.sources.records import ParseError, UnsupportedEvent

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
T = TypeVar("T")

# The credential each provider's API is read with (services.CREDENTIAL_NAMES).
API_CREDENTIAL = {
    "calendly": "api_token",
    "typeform": "api_token",
    "close": "api_key",
    "stripe": "api_key",
    "whop": "api_key",
}
PROVIDERS = tuple(API_CREDENTIAL)

CLIENTS = {
    "calendly": CalendlyClient,
    "typeform": TypeformClient,
    "close": CloseClient,
    "stripe": StripeClient,
    "whop": WhopClient,
}

# How far back an incremental run re-reads before the last successful one started: covers
# clock skew, late writes and (Calendly) no-shows marked days after the call.
OVERLAP = {
    "calendly": timedelta(days=14),
    "typeform": timedelta(days=1),
    "close": timedelta(days=1),
    "stripe": timedelta(days=3),
    "whop": timedelta(days=3),
}

OUTCOME_FIELDS = ("created", "updated", "unchanged")
COUNT_FIELDS = ("fetched", *OUTCOME_FIELDS, "failed")
MAX_ERRORS_KEPT = 20


class SyncError(Exception):
    pass


class SyncNotConfigured(SyncError):
    pass


class SyncAlreadyRunning(SyncError):
    pass


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
        if API_CREDENTIAL.get(provider) == name:
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
    process holds this org+provider; every other failure is recorded on the run.
    """
    if provider not in CLIENTS:
        raise SyncError(f"Unknown provider {provider!r}; one of {', '.join(PROVIDERS)}.")
    credential = Credential.objects.filter(
        org=org, provider=provider, name=API_CREDENTIAL[provider]
    ).first()
    if credential is None:
        raise SyncNotConfigured(f"{provider}: no {API_CREDENTIAL[provider]} saved for {org.slug}")
    if credential.rejected_at is not None:
        raise SyncNotConfigured(
            f"{provider}: the saved {API_CREDENTIAL[provider]} was refused "
            f"({credential.rejection}); save a new one first"
        )
    with _exclusive(org, provider):
        # We hold the lock, so a run still marked running was killed: say so.
        SyncRun.objects.filter(org=org, provider=provider, status=SyncRun.Status.RUNNING).update(
            status=SyncRun.Status.FAILED,
            error="interrupted (the process stopped); the next run resumed from its cursor",
            finished_at=timezone.now(),
        )
        run = SyncRun.objects.create(org=org, provider=provider, full=full)
        logger.info("sync run %s of %s/%s started (full=%s)", run.pk, org.slug, provider, full)
        started = time.monotonic()
        try:
            if client is None:
                token = crypto.decrypt(credential.encrypted_value)
                client = CLIENTS[provider](token, **(client_options or {}))
            syncer = SYNCERS[provider](
                org=org, client=client, run=run, full=full, since=since, on_progress=on_progress
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
            if quotes_values(exc):
                logger.error("sync %s/%s failed: %s", org.slug, provider, run.error)
            else:
                logger.exception("sync %s/%s failed", org.slug, provider)
        finally:
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
                run.pk, org.slug, provider, run.status, run.progress["duration_s"],
            )  # fmt: skip
            if on_progress:
                on_progress(run)
            sync_run_watchers_notify(run)  # e.g. notifications announces a failed run
    return run


def latest_run(*, org: Organization, provider: str) -> SyncRun | None:
    return SyncRun.objects.for_org(org).filter(provider=provider).order_by("-started_at").first()


# --- team members ---------------------------------------------------------------------------


# --- machinery shared by providers ----------------------------------------------------------


@contextmanager
def _exclusive(org: Organization, provider: str):
    """One run per org+provider at a time, across workers (a session lock)."""
    try:
        with session_lock(LockNamespace.SYNC_RUN, org.pk, provider):
            yield
    except LockBusy:
        raise SyncAlreadyRunning(f"{provider}: a sync of {org.slug} is already running") from None


@dataclass
class _Pending:
    """An API item parsed and waiting for its page's ingestion."""

    resource: str
    ref: str
    records: list[object]
    raw: Mapping[str, Any]
    then: Callable[[list[str]], None] | None


@dataclass
class Walk:
    """Where one list walk stands: ``since`` it started from and the ``position`` to resume at."""

    cursor: SyncCursor
    since: str | None
    position: dict[str, Any] | None
    resumed: bool


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


# A page chosen as a deadlock victim is applied again, after the page it raced committed.
PAGE_ATTEMPTS = 5
# Items applied per transaction. A transaction holds about five advisory locks per item (its
# objects and their identifiers) until it commits, and a stock PostgreSQL's lock table holds
# 6,400 (max_locks_per_transaction 64 x max_connections 100) for every session together: one
# Typeform page of 1,000 took 5,000, and three at once ran out of shared memory.
TRANSACTION_ITEMS = 200


def _lost_a_lock_race(exc: OperationalError) -> bool:
    # 40P01 deadlock_detected, 40001 serialization_failure: the transaction did nothing wrong.
    return getattr(exc.__cause__, "sqlstate", None) in ("40P01", "40001")


def _retrying_lock_races(
    apply: Callable[[], T], retried: Callable[[OperationalError, int], None] | None = None
) -> T:
    """``apply()`` in a transaction that ends with its foreign-key checks, applied again (up
    to PAGE_ATTEMPTS times, ``retried`` told each time) when PostgreSQL cancels it to break a
    deadlock: rolling back released its locks, so what it raced finishes first."""
    for attempt in range(1, PAGE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                result = apply()
                _check_constraints_now()
            return result
        except OperationalError as exc:
            if not _lost_a_lock_race(exc) or attempt == PAGE_ATTEMPTS:
                raise
            if retried is not None:
                retried(exc, attempt)
            time.sleep(random.uniform(0, 0.05 * attempt))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _check_constraints_now() -> None:
    # Setting them back to deferred restores the default of every constraint here: Django's
    # foreign keys are the only deferrable ones, all INITIALLY DEFERRED.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _commit_without_flush_wait() -> None:
    """A page's COMMIT returns before its WAL reaches the disk (PostgreSQL only).

    Safe here and only here: the resume position is written in the same transaction as the
    page, so a page lost to a server crash in that window is lost together with its position
    and is simply read again on resume. Integrity is untouched (unlike fsync=off); webhooks,
    PCFs and admin writes keep the server's synchronous commits.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO off")


# A backfill grows these tables far faster than autovacuum re-reads them (and autovacuum may be
# off): with no statistics the planner picked a (org, ...) index and a filter for a per-invitee
# meeting lookup, scanning every meeting of the org. Every STATS_CHECK_PAGES committed pages, a
# table never analyzed, or grown by half (plus STATS_MIN_ROWS) since, is analyzed.
STATS_CHECK_PAGES = 10
STATS_MIN_ROWS = 1000


def _filled_tables() -> list[str]:
    from apps.contacts.models import Contact, ContactNameKey, Identifier, SourceRecord, Touchpoint
    from apps.deals.models import CallActivity, Deal
    from apps.meetings.models import Meeting
    from apps.payments.models import Payment

    models = (Contact, Identifier, ContactNameKey, SourceRecord, Touchpoint, Meeting, Deal,
              CallActivity, Payment)  # fmt: skip
    return [model._meta.db_table for model in models]


def statistics_refresh() -> list[str]:
    """Analyzes the tables a sync fills whose planner statistics are missing or far behind;
    returns their names. Outside the page transactions: ANALYZE blocks no insert, and a page
    must not wait for it."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid "
            "WHERE c.relname = ANY(%s) "
            "AND (c.reltuples < 0 OR s.n_mod_since_analyze > 0.5 * c.reltuples + %s) "
            "ORDER BY c.relname",
            [_filled_tables(), STATS_MIN_ROWS],
        )
        stale = [row[0] for row in cursor.fetchall()]
        for table in stale:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return stale


class ProviderSync:
    provider = ""

    def __init__(self, *, org, client, run, full, since, on_progress):
        self.org = org
        self.client = client
        self.run = run
        self.full = full
        self.since = since
        self.on_progress = on_progress
        self.errors: list[str] = []
        self._pending: list[_Pending] = []
        self._pages = 0
        self._pool: PagePool | None = None
        self.created_contacts: list[int] = []  # by the last page applied
        self.reconciliation: dict[str, Any] = {"by_resource": {}}

    def sync(self) -> None:
        raise NotImplementedError

    def queue_page(self, resource: str, items: list[Any], context: Any) -> None:
        """Queues one page's items for ingestion (``ingest`` each); runs where the page is
        applied, the coordinator or a page worker, so it may only read the database."""
        raise NotImplementedError

    def page_payload(self, page: Page) -> list[Any]:
        """What ``queue_page`` gets of a page: its items, or what was fetched for them."""
        return page.items

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self.run.progress["page_workers"] = {
                "count": self._pool.size,
                "peak_rss_mb": self._pool.peak_rss_mb,
            }
            self._pool = None

    # walks

    def ingest_walk(
        self,
        resource: str,
        pages: Callable[[str | None, dict | None], Iterator[Page]],
        context: Any = None,
    ) -> None:
        """Walks ``resource`` from its cursor and ingests every page (``queue_page``).

        A walk of one page is applied here, the position saved with its last items. A longer
        one is handed to page workers (page_workers.py), when the settings and the database
        allow: they apply pages side by side, and positions are saved in page order.
        """
        walk = self._begin(resource)
        self._note(resource=resource, resumed=walk.resumed, since=walk.since)
        side_by_side = None
        try:
            for page in _prefetched(pages(walk.since, walk.position)):
                if side_by_side is None and page.resume is not None and self._side_by_side():
                    side_by_side = _PagesSideBySide(self, resource, context)
                if side_by_side is not None:
                    side_by_side.submit(page)
                else:
                    with self.commit_page(resource, page):
                        self.queue_page(resource, self.page_payload(page), context)
            if side_by_side is not None:
                side_by_side.finish()
        except BaseException:
            if side_by_side is not None:
                side_by_side.abandon()
            raise
        self._finish(walk)

    def _side_by_side(self) -> bool:
        # Workers see only committed rows, on their own connections: not under an open
        # transaction (a test's, or a caller's), and never with SQLite's single writer.
        return (
            getattr(django_settings, "SYNC_PAGE_WORKERS", 1) > 1
            and connection.vendor == "postgresql"
            and not connection.in_atomic_block
        )

    def pool(self) -> PagePool:
        if self._pool is None:
            self._pool = PagePool(
                django_settings.SYNC_PAGE_WORKERS,
                # The environment's: an overridden settings object (tests) names no module.
                settings_module=os.environ.get("DJANGO_SETTINGS_MODULE")
                or django_settings.SETTINGS_MODULE,
                database={"NAME": connection.settings_dict["NAME"]},
            )
        return self._pool

    def _begin(self, resource: str) -> Walk:
        cursor, _ = SyncCursor.objects.get_or_create(
            org=self.org, provider=self.provider, resource=resource
        )
        state = cursor.cursor or {}
        current = state.get("walk")
        if current and current.get("done"):
            # Killed between committing the last page and closing the walk: it is complete.
            state["last_success_at"] = current.get("started_at")
            state.pop("walk")
            current = None
        explicit = self.full or self.since is not None
        if current and not (explicit and current.get("full") != self.full) and self.since is None:
            self._cursor = cursor
            return Walk(cursor, current.get("since"), current.get("position"), resumed=True)
        if self.since is not None:
            since = self.since
        elif self.full or not state.get("last_success_at"):
            since = None
        else:
            since = datetime.fromisoformat(state["last_success_at"]) - OVERLAP[self.provider]
        since_text = since.astimezone(UTC).isoformat() if since else None
        state["walk"] = {
            "full": since is None,
            "since": since_text,
            "position": None,
            "started_at": timezone.now().isoformat(),
        }
        cursor.cursor = state
        cursor.save(update_fields=["cursor", "updated_at"])
        self._cursor = cursor
        return Walk(cursor, since_text, None, resumed=False)

    def _finish(self, walk: Walk) -> None:
        cursor = SyncCursor.objects.get(pk=walk.cursor.pk)
        state = cursor.cursor or {}
        current = state.pop("walk", None) or {}
        state["last_success_at"] = current.get("started_at") or timezone.now().isoformat()
        cursor.cursor = state
        cursor.save(update_fields=["cursor", "updated_at"])

    @contextmanager
    def commit_page(self, resource: str, page: Page):
        """Queue a page's items inside this block; after it, they are applied and the resume
        position is saved with the last of them (``_write_page``)."""
        before = self._tally()
        self._pending = []
        try:
            yield
        except BaseException:
            self._pending = []
            self._restore(before)
            raise
        self._write_page(resource, page)
        self._committed(1)

    def _committed(self, pages: int) -> None:
        before, self._pages = self._pages, self._pages + pages
        crossed = self._pages // STATS_CHECK_PAGES > before // STATS_CHECK_PAGES
        if crossed and not connection.in_atomic_block:
            statistics_refresh()
        if self.on_progress:
            self.on_progress(self.run)

    def _write_page(self, resource: str, page: Page | None) -> None:
        """Applies the queued items, TRANSACTION_ITEMS at a time, each part in its own
        transaction; the last part saves the page's position (``page``; None when the
        coordinator saves it, _PagesSideBySide).

        A crash re-reads the page it was on, and the parts committed before come back
        unchanged. The KPI rollups are refreshed once for the whole page.
        """
        pending, self._pending = self._pending, []
        size = TRANSACTION_ITEMS
        parts = [pending[i : i + size] for i in range(0, len(pending), size)] or [[]]
        self.created_contacts = []
        with rollups_deferred():
            for n, part in enumerate(parts):
                last = n == len(parts) - 1
                try:
                    self._write_part(resource, part, page if last else None)
                except BaseException:
                    # Fetched, but never applied: the next run reads them again.
                    self.run.fetched -= sum(len(p) for p in parts[n:])
                    raise

    def _write_part(self, resource: str, part: list[_Pending], page: Page | None) -> None:
        """One transaction, tried again when PostgreSQL picks it as a deadlock victim.

        Syncs of one org's providers run side by side (the nightly fan-out), and a part takes
        its identifier locks a chunk at a time: two parts naming the same people in opposite
        orders can deadlock. Rolling the transaction back releases this part's locks, so the
        other one finishes, and this one is then applied as if it had come second. The deferred
        foreign-key checks run inside it too: at COMMIT they lock the contacts the part points
        to, and could deadlock there, past any retry.
        """
        before = self._tally()

        def apply() -> list[int]:
            with contacts_created_collect() as created:
                _commit_without_flush_wait()
                self._flush(part)
                if page is not None:
                    self._save_position(resource, page.resume, pages=1, items=len(page.items))
            return created

        def retried(exc: OperationalError, attempt: int) -> None:
            self._restore(before)
            logger.info(
                "sync %s %s: page retried after a %s (attempt %d)",
                self.org.slug, resource, type(exc.__cause__).__name__, attempt,
            )  # fmt: skip
            self.run.progress["page_retries"] = self.run.progress.get("page_retries", 0) + 1

        try:
            self.created_contacts += _retrying_lock_races(apply, retried)
        except BaseException:
            self._restore(before)
            raise

    def _tally(self) -> tuple[dict[str, int], dict[str, Any], dict[str, Any], int]:
        """What a page changes on the run in memory, to put back when the page is undone."""
        counts = {f: getattr(self.run, f) for f in COUNT_FIELDS}
        return (
            counts,
            copy.deepcopy(self.reconciliation),
            copy.deepcopy(self.run.progress),
            len(self.errors),
        )

    def _restore(self, tally: tuple[dict[str, int], dict[str, Any], dict[str, Any], int]) -> None:
        counts, reconciliation, progress, errors = tally
        for field, value in counts.items():
            setattr(self.run, field, value)
        self.run.reconciliation = self.reconciliation = copy.deepcopy(reconciliation)
        self.run.progress = copy.deepcopy(progress)
        del self.errors[errors:]

    def _save_position(
        self, resource: str, resume: dict[str, Any] | None, *, pages: int, items: int
    ) -> None:
        cursor = SyncCursor.objects.select_for_update().get(
            org=self.org, provider=self.provider, resource=resource
        )
        state = cursor.cursor or {}
        if "walk" in state:
            state["walk"]["position"] = resume
            state["walk"]["done"] = resume is None
        cursor.cursor = state
        cursor.save(update_fields=["cursor", "updated_at"])
        progress = self.run.progress.setdefault("resources", {}).setdefault(
            resource, {"pages": 0, "items": 0}
        )
        progress["pages"] += pages
        progress["items"] += items
        self.run.progress["current"] = resource
        self.run.reconciliation = self.reconciliation
        if self.errors:
            self.run.progress["errors"] = self.errors[-MAX_ERRORS_KEPT:]
        self.run.save(update_fields=[*COUNT_FIELDS, "progress", "reconciliation"])

    def _note(self, **values) -> None:
        self.run.progress.update(values)

    # ingestion

    def ingest(
        self,
        resource: str,
        item: Mapping[str, Any],
        parse: Callable[[Mapping[str, Any]], Iterable[object]],
        ref_key: str = "id",
        raw: Mapping[str, Any] | None = None,
        then: Callable[[list[str]], None] | None = None,
    ) -> None:
        """Parses one API item (``parse`` may give several records) and queues its records for
        the page's ingestion; ``then`` gets the item's outcomes once they are applied."""
        ref = str(item.get(ref_key, "?"))
        self.run.fetched += 1
        try:
            # The webhooks' cleaning, for the same reasons: a NUL or a lone surrogate in an API
            # item is refused by PostgreSQL, and text longer than its column by the services,
            # which failed the whole page's transaction, not just the item.
            limits = field_limits()
            records = [clean.fit_record(record, limits) for record in parse(item)]
            kept = clean.clean_json(raw if raw is not None else item)
        except (ParseError, UnsupportedEvent, ValueError) as exc:
            self._failed(resource, ref, exc)
            return
        self._pending.append(_Pending(resource, ref, records, kept, then))

    def _flush(self, pending: list[_Pending]) -> None:
        """Applies queued items in one ingest_records call and counts each item by what
        happened to it."""
        from apps.integrations.ingest import ingest_records

        results = iter(
            ingest_records(
                org=self.org,
                items=[(record, p.raw) for p in pending for record in p.records],
                via="sync",
            )
        )
        for p in pending:
            outcomes: list[str] = []
            for _ in p.records:
                result = next(results)
                if isinstance(result, Exception):
                    # Refused by the services: nothing of it was written; the page goes on.
                    self._failed(p.resource, p.ref, result)
                else:
                    outcomes.append(str(getattr(result, "value", result)))
            self._count(p.resource, outcomes)
            if p.then is not None:
                p.then(outcomes)

    def _count(self, resource: str, outcomes: list[str]) -> None:
        # An item is counted once, by what happened to it: created beats updated beats unchanged.
        for field in (*OUTCOME_FIELDS, "skipped"):
            if field in outcomes:
                if field in OUTCOME_FIELDS:
                    setattr(self.run, field, getattr(self.run, field) + 1)
                else:
                    self.run.unchanged += 1
                break
        summary = self.reconciliation["by_resource"].setdefault(
            resource, {"created": 0, "updated": 0}
        )
        for field in ("created", "updated"):
            if field in outcomes:
                summary[field] += 1
                if not self.full and self.since is None:
                    # On an incremental run, anything new or changed is what webhooks missed.
                    self.reconciliation["missed_by_webhooks"] = (
                        self.reconciliation.get("missed_by_webhooks", 0) + 1
                    )
                break

    def _failed(self, resource: str, ref: str, exc: Exception) -> None:
        self.run.failed += 1
        self.errors.append(f"{resource} {ref}: {exc}"[:300])
        # The parsers' own errors name a field, never its value; any other message (a
        # ValueError, a value a service refused) may quote a person's details: class only.
        own = isinstance(exc, ParseError | UnsupportedEvent)
        detail = f"{type(exc).__name__}: {exc}" if own else type(exc).__name__
        logger.warning("sync %s %s %s: %s", self.org.slug, resource, ref, detail)

    def discovered(self, key: str) -> None:
        self.reconciliation[key] = self.reconciliation.get(key, 0) + 1

    def settings(self) -> Mapping[str, Any]:
        value = (self.org.settings or {}).get(self.provider)
        return value if isinstance(value, Mapping) else {}


class _PagesSideBySide:
    """One walk's pages on the page workers. Results are added to the run as they come; a
    walk's position is saved once every page before it has committed, so the cursor never
    passes a page that is not in the database."""

    def __init__(self, syncer: ProviderSync, resource: str, context: Any):
        self.syncer = syncer
        self.resource = resource
        self.context = context
        self.submitted = 0
        self.saved = 0  # pages 0 .. saved-1 are committed and the position is past them
        self.pages: dict[int, tuple[dict[str, Any] | None, int]] = {}
        self.committed: set[int] = set()
        self.failure: str | None = None
        # For the namesake check: the pages each page ran beside, and who each page created.
        self.running: set[int] = set()
        self.beside: dict[int, set[int]] = {}
        self.created: dict[int, list[int]] = {}

    def submit(self, page: Page) -> None:
        if self.failure is None:
            seq, self.submitted = self.submitted, self.submitted + 1
            self.pages[seq] = (page.resume, len(page.items))
            self.beside[seq] = set(self.running)
            self.running.add(seq)
            job = {
                "seq": seq,
                "org": self.syncer.org.pk,
                "provider": self.syncer.provider,
                "full": self.syncer.full,
                "since": self.syncer.since,
                "resource": self.resource,
                "items": self.syncer.page_payload(page),
                "context": self.context,
            }
            self._take(self.syncer.pool().submit(job))
        if self.failure is not None:
            self.abandon()
            raise SyncError(self.failure)

    def finish(self) -> None:
        self._take(self.syncer.pool().drain())
        if self.failure is not None:
            raise SyncError(self.failure)

    def abandon(self) -> None:
        """Waits for the pages still being applied and counts them: they commit either way."""
        pool = self.syncer._pool
        if pool is not None and pool.in_flight:
            # A stopped worker is already on its way up as the walk's failure.
            with contextlib.suppress(PageWorkerError):
                self._take(pool.drain())

    def _take(self, results: list[dict[str, Any]]) -> None:
        syncer, run = self.syncer, self.syncer.run
        for result in results:
            seq = result["seq"]
            self.running.discard(seq)
            if "failure" in result:
                self.failure = self.failure or (
                    f"{self.resource} page {seq + 1} of this run: {result['failure']}"
                )
                continue
            for field in COUNT_FIELDS:
                setattr(run, field, getattr(run, field) + result["counts"][field])
            _add_counts(syncer.reconciliation, result["reconciliation"])
            syncer.errors.extend(result["errors"])
            if result["retries"]:
                run.progress["page_retries"] = (
                    run.progress.get("page_retries", 0) + result["retries"]
                )
            self.committed.add(seq)
            self.created[seq] = result["created_contacts"]
        self._review_namesakes()
        first = self.saved
        resume, items = None, 0
        while self.saved in self.committed:
            self.committed.discard(self.saved)
            resume, count = self.pages.pop(self.saved)
            items += count
            self.saved += 1
        if self.saved > first:
            with transaction.atomic():
                syncer._save_position(self.resource, resume, pages=self.saved - first, items=items)
            syncer._committed(self.saved - first)

    def _review_namesakes(self) -> None:
        """Namesakes that two pages created side by side were weighed by neither resolve:
        weighed now, each page against the pages it ran beside, once all of them committed."""
        for seq in sorted(self.created):
            beside = self.beside.get(seq)
            if beside is None or beside & self.running:
                continue
            among = [c for other in beside for c in self.created.get(other, ())]
            queued = self._namesakes_review(self.created[seq], among) if among else 0
            if queued:
                _add_counts(self.syncer.reconciliation, {"namesakes_reviewed_side_by_side": queued})
            del self.beside[seq]
        # A page's contacts are needed until every page that ran beside it was weighed.
        needed = set(self.beside) | {o for beside in self.beside.values() for o in beside}
        for seq in [seq for seq in self.created if seq not in needed]:
            del self.created[seq]

    def _namesakes_review(self, contact_ids: list[int], among: list[int]) -> int:
        # Its review rows lock the contacts they point to, which a worker may be locking too.
        return _retrying_lock_races(
            lambda: namesakes_review(org=self.syncer.org, contact_ids=contact_ids, among=among)
        )


def _add_counts(into: dict[str, Any], more: Mapping[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, Mapping):
            _add_counts(into.setdefault(key, {}), value)
        else:
            into[key] = into.get(key, 0) + value


def page_apply(job: Mapping[str, Any]) -> dict[str, Any]:
    """Applies one page (in a page worker, TRANSACTION_ITEMS items per transaction) and
    returns what it counted; the coordinator saves the position."""
    org = Organization.objects.get(pk=job["org"])
    run = SyncRun(org=org, provider=job["provider"], full=job["full"])
    syncer = SYNCERS[job["provider"]](
        org=org, client=None, run=run, full=job["full"], since=job["since"], on_progress=None
    )
    syncer.queue_page(job["resource"], job["items"], job["context"])
    syncer._write_page(job["resource"], None)
    return {
        "seq": job["seq"],
        "counts": {field: getattr(run, field) for field in COUNT_FIELDS},
        "reconciliation": syncer.reconciliation,
        "errors": syncer.errors,
        "retries": run.progress.get("page_retries", 0),
        "created_contacts": syncer.created_contacts,
    }


PREFETCH_PAGES = 2


def _prefetched(pages: Iterator[Page], *, depth: int = PREFETCH_PAGES) -> Iterator[Page]:
    """Walks ``pages`` (the HTTP side) on a thread, up to ``depth`` pages ahead of the caller
    (the database side), so the paced requests carry on while a page is being ingested: with
    rate limits the floor, a walk then takes the requests' time, not requests plus ingestion.

    The thread never touches the database; the caller still commits page by page, so the
    cursor only moves past pages it ingested. Errors on the thread surface in the caller.
    """
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for page in pages:
                if not put((None, page)):
                    return
            put((None, end))
        except BaseException as exc:  # handed to the caller, who raises it
            put((exc, None))

    thread = threading.Thread(target=produce, name="sync-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            error, page = handoff.get()
            if error is not None:
                raise error
            if page is end:
                return
            yield page
    finally:
        stop.set()
        # The thread stops after the request it is in; never leave one running behind.
        thread.join(timeout=60)


def _one(parse: Callable[[Mapping[str, Any]], object]):
    def records(item: Mapping[str, Any]) -> list[object]:
        record = parse(item)
        return [record] if record is not None else []

    return records


def _typeform_response(item, *, form_id, definition, field_mapping):
    return [
        typeform.parse_response(
            item, form_id=form_id, definition=definition, field_mapping=field_mapping
        )
    ]


def _calendly_time(value: str | None) -> str | None:
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _typeform_time(value: str | None) -> str | None:
    # Typeform takes UTC to the second, with T between date and time.
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _unix(value: str | None) -> int | None:
    return int(datetime.fromisoformat(value).timestamp()) if value else None


# --- providers ------------------------------------------------------------------------------


class CalendlySync(ProviderSync):
    provider = "calendly"

    def sync(self) -> None:
        me = self.client.me()
        organization = me["current_organization"]
        members = 0
        for membership in self.client.organization_memberships(organization):
            user = membership.get("user") or {}
            if user.get("uri"):
                members += bool(
                    team_member_link(
                        org=self.org,
                        provider="calendly",
                        external_id=user["uri"],
                        email=user.get("email"),
                        name=user.get("name"),
                    )
                )
        self.reconciliation["team_members"] = members

        def pages(since, position):
            for page in self.client.scheduled_event_pages(
                organization,
                min_start_time=_calendly_time(since),
                page_token=(position or {}).get("page_token"),
            ):
                # Fetched on the prefetch thread too, never inside the page's transaction.
                page.related = [
                    (invitee, event)
                    for event in page.items
                    for invitee in self.client.invitees(event["uri"])
                ]
                yield page

        self.ingest_walk("scheduled_events", pages)
        # Bookable time per host and week, for utilization (its own module: availability).
        from apps.integrations.calendly_availability import availability_sync

        self.reconciliation["availability"] = availability_sync(org=self.org, client=self.client)

    def page_payload(self, page: Page) -> list[Any]:
        return page.related

    def queue_page(self, resource: str, items: list[Any], context: Any) -> None:
        for invitee, event in items:
            self._invitee(invitee, event)

    def _invitee(self, invitee: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        canceled = invitee.get("status") == "canceled"

        def parse(invitee):
            kind = "canceled" if canceled else "created"
            yield calendly.parse_invitee(invitee, kind=kind, scheduled_event=event)
            if invitee.get("no_show"):
                yield calendly.parse_invitee(invitee, kind="no_show_created", scheduled_event=event)

        # Provenance in the webhook payload's shape (the event embedded, not named by uri), so
        # a sync after the webhook finds the record unchanged instead of "missed".
        as_webhook = {k: v for k, v in invitee.items() if k != "event"}
        as_webhook["scheduled_event"] = event

        def discovered(outcomes: list[str]) -> None:
            if canceled and ({"created", "updated"} & set(outcomes)):
                self.discovered("cancellations_discovered")

        self.ingest("invitees", invitee, parse, "uri", raw=as_webhook, then=discovered)


class TypeformSync(ProviderSync):
    provider = "typeform"

    def sync(self) -> None:
        form_ids = self.settings().get("form_ids") or [f["id"] for f in self.client.forms()]
        for form_id in form_ids:
            context = {"form_id": form_id, "definition": self.client.form(form_id)}

            def pages(since, position, form_id=form_id):
                return self.client.response_pages(
                    form_id, since=_typeform_time(since), after=(position or {}).get("after")
                )

            self.ingest_walk(f"responses:{form_id}", pages, context)

    def queue_page(self, resource: str, items: list[Any], context: Any) -> None:
        from apps.integrations.ingest import typeform_field_mapping

        parse = functools.partial(
            _typeform_response,
            form_id=context["form_id"],
            definition=context["definition"],
            field_mapping=typeform_field_mapping(org=self.org, form_id=context["form_id"]),
        )
        for item in items:
            self.ingest("responses", item, parse, "token")


class CloseSync(ProviderSync):
    provider = "close"
    RESOURCES = (
        ("leads", "/lead/"),
        ("opportunities", "/opportunity/"),
        ("calls", "/activity/call/"),
    )

    def sync(self) -> None:
        members = 0
        for user in self.client.users():
            name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
            members += bool(
                team_member_link(
                    org=self.org,
                    provider="close",
                    external_id=user["id"],
                    email=user.get("email"),
                    name=name or None,
                )
            )
        self.reconciliation["team_members"] = members
        # A resource's walk ends, its last page committed, before the next one's starts:
        # opportunities and calls find their leads' contacts.
        for resource, path in self.RESOURCES:
            # A backfill walks by creation date; an incremental run by last change.
            def pages(since, position, path=path):
                position = position or {}
                return self.client.pages(
                    path,
                    {},
                    date_field="date_updated" if since else "date_created",
                    since=position.get("since", since),
                    skip=position.get("skip", 0),
                )

            self.ingest_walk(resource, pages)

    def queue_page(self, resource: str, items: list[Any], context: Any) -> None:
        from apps.integrations.ingest import close_lead_owner_field, close_no_show_rule

        # Parsed with the same org settings as the webhooks (ingest.py owns them).
        if resource == "leads":
            owner_field = close_lead_owner_field(org=self.org)
            parse = _one(lambda o: close.parse_lead(o, lead_owner_field=owner_field))
        elif resource == "calls":
            rule = close_no_show_rule(org=self.org)
            parse = _one(lambda o: close.parse_call(o, no_show_rule=rule))
        else:
            parse = _one(close.parse_opportunity)
        for item in items:
            self.ingest(resource, item, parse)


class StripeSync(ProviderSync):
    provider = "stripe"

    def sync(self) -> None:
        for resource in ("charges", "refunds"):

            def pages(since, position, resource=resource):
                return self.client.pages(
                    resource,
                    created_gte=_unix(since),
                    starting_after=(position or {}).get("starting_after"),
                )

            self.ingest_walk(resource, pages)

    def queue_page(self, resource: str, items: list[Any], context: Any) -> None:
        for item in items:
            self.ingest(resource, item, _STRIPE_PARSERS[resource])


class WhopSync(ProviderSync):
    provider = "whop"

    def sync(self) -> None:
        params = {}
        if self.settings().get("company_id"):
            params["company_id"] = self.settings()["company_id"]

        def pages(since, position):
            query = dict(params)
            if since:
                query["created_after"] = since
            return self.client.pages("payments", query, after=(position or {}).get("after"))

        self.ingest_walk("payments", pages)

    def queue_page(self, resource: str, items: list[Any], context: Any) -> None:
        for item in items:
            self.ingest("payments", item, _whop_payment)


# ingest_record takes the event records the webhooks produce; a listed object is wrapped in one
# the way its webhook would carry it. The synthetic event id says where it came from; payments
# and refunds are keyed by their own ids (payment_key, refund_id), so a webhook and a sync of
# the same object still meet in one row.


def _stripe_charge(charge: Mapping[str, Any]) -> list[object]:
    payment = stripe.parse_charge(charge)
    if payment is None:
        return []  # a charge that moved no money (failed, uncaptured)
    return [
        stripe.StripeEvent(
            event_id=f"sync:{payment.charge_id or charge['id']}",
            event_type="charge.succeeded",
            created=payment.paid_at,
            person=payment.person,
            payment=payment,
        )
    ]


def _stripe_refund(refund: Mapping[str, Any]) -> list[object]:
    observation = stripe.parse_refund(refund)
    return [
        stripe.StripeEvent(
            event_id=f"sync:{observation.refund_id}",
            event_type="refund.updated",
            created=observation.refunded_at,
            person=observation.person,
            refunds=(observation,),
        )
    ]


def _whop_payment(item: Mapping[str, Any]) -> list[object]:
    payment = whop.parse_payment(item)
    return [
        whop.WhopEvent(
            event_id=f"sync:{payment.payment_key}",
            event_type="payment.succeeded" if payment.status == "succeeded" else "payment.created",
            occurred_at=payment.paid_at,
            person=payment.person,
            payment=payment,
        )
    ]


_STRIPE_PARSERS = {"charges": _stripe_charge, "refunds": _stripe_refund}

SYNCERS: dict[str, type[ProviderSync]] = {
    "calendly": CalendlySync,
    "typeform": TypeformSync,
    "close": CloseSync,
    "stripe": StripeSync,
    "whop": WhopSync,
}


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
        .filter(provider=provider, name=API_CREDENTIAL[provider])
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
