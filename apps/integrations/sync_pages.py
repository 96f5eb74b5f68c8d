"""A sync's page writer and what a run counts.

:class:`PageWriter` takes a page's API items (``queue``: parsed, cleaned, waiting) and applies
them (``write``) through ``ingest_records(via="sync")``, TRANSACTION_ITEMS items per
transaction, the last part saving the page's position; :class:`RunTally` counts each item, in
memory, on the run, and puts the counts back when a page is undone. The same writer runs in the
sync's own process and in its page workers (page_workers.py).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import OperationalError, connection

from apps.integrations.limits import field_limits
from apps.integrations.lock_races import retrying_lock_races
from apps.integrations.models import SyncRun
from apps.kpis.invalidation import rollups_deferred
from attribution.sources import clean
from attribution.sources.records import ParseError, UnsupportedEvent

logger = logging.getLogger(__name__)

OUTCOME_FIELDS = ("created", "updated", "unchanged")
COUNT_FIELDS = ("fetched", *OUTCOME_FIELDS, "failed")
MAX_ERRORS_KEPT = 20
# Items applied per transaction. A transaction holds about five advisory locks per item (its
# objects and their identifiers) until it commits, and a stock PostgreSQL's lock table holds
# 6,400 (max_locks_per_transaction 64 x max_connections 100) for every session together: one
# form-response page of 1,000 took 5,000, and three at once ran out of shared memory.
TRANSACTION_ITEMS = 200


@dataclass
class Pending:
    """An API item parsed and waiting for its page's ingestion."""

    resource: str
    ref: str
    records: list[object]
    raw: Mapping[str, Any]
    then: Callable[[list[str]], None] | None


Snapshot = tuple[dict[str, int], dict[str, Any], dict[str, Any], int]


class RunTally:
    """What a run counts in memory: the run's count fields and progress, the reconciliation,
    and the errors of the items it refused. ``incremental``: anything new or changed is what
    the webhooks missed."""

    def __init__(self, run: SyncRun, *, org_slug: str, incremental: bool):
        self.run = run
        self.org_slug = org_slug
        self.incremental = incremental
        self.errors: list[str] = []
        self.reconciliation: dict[str, Any] = {"by_resource": {}}

    def snapshot(self) -> Snapshot:
        """What a page changes on the run in memory, to put back when the page is undone."""
        counts = {f: getattr(self.run, f) for f in COUNT_FIELDS}
        return (
            counts,
            copy.deepcopy(self.reconciliation),
            copy.deepcopy(self.run.progress),
            len(self.errors),
        )

    def restore(self, snapshot: Snapshot) -> None:
        counts, reconciliation, progress, errors = snapshot
        for field, value in counts.items():
            setattr(self.run, field, value)
        self.run.reconciliation = self.reconciliation = copy.deepcopy(reconciliation)
        self.run.progress = copy.deepcopy(progress)
        del self.errors[errors:]

    def count(self, resource: str, outcomes: list[str]) -> None:
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
                if self.incremental:
                    self.reconciliation["missed_by_webhooks"] = (
                        self.reconciliation.get("missed_by_webhooks", 0) + 1
                    )
                break

    def failed(self, resource: str, ref: str, exc: Exception) -> None:
        self.run.failed += 1
        self.errors.append(f"{resource} {ref}: {exc}"[:300])
        # The parsers' own errors name a field, never its value; any other message (a
        # ValueError, a value a service refused) may quote a person's details: class only.
        own = isinstance(exc, ParseError | UnsupportedEvent)
        detail = f"{type(exc).__name__}: {exc}" if own else type(exc).__name__
        logger.warning("sync %s %s %s: %s", self.org_slug, resource, ref, detail)

    def discovered(self, key: str) -> None:
        self.reconciliation[key] = self.reconciliation.get(key, 0) + 1

    def page_retried(self, times: int = 1) -> None:
        self.run.progress["page_retries"] = self.run.progress.get("page_retries", 0) + times

    def progress_save(self, resource: str, *, pages: int, items: int) -> None:
        """Saves the run as it stands after ``pages`` more pages of ``resource``; in the
        transaction that saved their position."""
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

    def figures(self) -> dict[str, Any]:
        """What a page worker counted, for the coordinator's :meth:`add`."""
        return {
            "counts": {field: getattr(self.run, field) for field in COUNT_FIELDS},
            "reconciliation": self.reconciliation,
            "errors": self.errors,
            "retries": self.run.progress.get("page_retries", 0),
        }

    def add(self, figures: Mapping[str, Any]) -> None:
        for field in COUNT_FIELDS:
            setattr(self.run, field, getattr(self.run, field) + figures["counts"][field])
        add_counts(self.reconciliation, figures["reconciliation"])
        self.errors.extend(figures["errors"])
        if figures["retries"]:
            self.page_retried(figures["retries"])


def add_counts(into: dict[str, Any], more: Mapping[str, Any]) -> None:
    """Adds nested counts (a reconciliation) into another."""
    for key, value in more.items():
        if isinstance(value, Mapping):
            add_counts(into.setdefault(key, {}), value)
        else:
            into[key] = into.get(key, 0) + value


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


class PageWriter:
    """Queues a page's items and applies them, counting each on ``tally``."""

    def __init__(self, org, tally: RunTally):
        self.org = org
        self.tally = tally
        self.pending: list[Pending] = []

    def queue(
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
        self.tally.run.fetched += 1
        try:
            # The webhooks' cleaning, for the same reasons: a NUL or a lone surrogate in an API
            # item is refused by PostgreSQL, and text longer than its column by the services,
            # which failed the whole page's transaction, not just the item.
            limits = field_limits()
            records = [clean.fit_record(record, limits) for record in parse(item)]
            kept = clean.clean_json(raw if raw is not None else item)
        except (ParseError, UnsupportedEvent, ValueError) as exc:
            self.tally.failed(resource, ref, exc)
            return
        self.pending.append(Pending(resource, ref, records, kept, then))

    def discard(self) -> None:
        self.pending = []

    def write(self, resource: str, save_position: Callable[[], None] | None) -> None:
        """Applies the queued items, TRANSACTION_ITEMS at a time, each part in its own
        transaction; the last part calls ``save_position`` (None when the coordinator saves
        it, side_by_side.py).

        A crash re-reads the page it was on, and the parts committed before come back
        unchanged. The KPI rollups are refreshed once for the whole page.
        """
        pending, self.pending = self.pending, []
        size = TRANSACTION_ITEMS
        parts = [pending[i : i + size] for i in range(0, len(pending), size)] or [[]]
        with rollups_deferred():
            for n, part in enumerate(parts):
                last = n == len(parts) - 1
                try:
                    self._write_part(resource, part, save_position if last else None)
                except BaseException:
                    # Fetched, but never applied: the next run reads them again.
                    self.tally.run.fetched -= sum(len(p) for p in parts[n:])
                    raise

    def _write_part(
        self, resource: str, part: list[Pending], save_position: Callable[[], None] | None
    ) -> None:
        """One transaction, tried again when PostgreSQL picks it as a deadlock victim.

        Syncs of one org's providers run side by side (the nightly fan-out), and a part takes
        its identifier locks a chunk at a time: two parts naming the same people in opposite
        orders can deadlock. Rolling the transaction back releases this part's locks, so the
        other one finishes, and this one is then applied as if it had come second. The deferred
        foreign-key checks run inside it too: at COMMIT they lock the contacts the part points
        to, and could deadlock there, past any retry.
        """
        before = self.tally.snapshot()

        def apply() -> None:
            _commit_without_flush_wait()
            self._flush(part)
            if save_position is not None:
                save_position()

        def retried(exc: OperationalError, attempt: int) -> None:
            self.tally.restore(before)
            logger.info(
                "sync %s %s: page retried after a %s (attempt %d)",
                self.org.slug, resource, type(exc.__cause__).__name__, attempt,
            )  # fmt: skip
            self.tally.page_retried()

        try:
            retrying_lock_races(apply, retried)
        except BaseException:
            self.tally.restore(before)
            raise

    def _flush(self, pending: list[Pending]) -> None:
        """Applies queued items in one ingest_records call and counts each item by what
        happened to it."""
        # At call time: the ingestion imports the providers' syncers, which stand on this module.
        from apps.integrations import ingest

        results = iter(
            ingest.ingest_records(
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
                    self.tally.failed(p.resource, p.ref, result)
                else:
                    outcomes.append(str(getattr(result, "value", result)))
            self.tally.count(p.resource, outcomes)
            if p.then is not None:
                p.then(outcomes)
