"""One walk's pages applied side by side by the page workers (page_workers.py).

The coordinator (:class:`PagesSideBySide`, in the sync's own process) hands each page to a
worker, which applies it with :func:`page_apply` through the same ``queue_page`` and page writer
as a serial run. Results are added to the run as they come; a walk's position is saved once
every page before it has committed, so the cursor never passes a page that is not in the
database. Namesakes two pages create side by side are weighed by each page's own commit
(``ingest._NamesakesSideBySide``), as for any two transactions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from apps.integrations.clients import Page
from apps.integrations.errors import SyncError
from apps.integrations.models import SyncRun
from apps.integrations.page_workers import PageWorkerError
from apps.integrations.syncing import ProviderSync
from apps.orgs.models import Organization


class PagesSideBySide:
    def __init__(self, syncer: ProviderSync, resource: str, context: Any):
        self.syncer = syncer
        self.resource = resource
        self.context = context
        self.submitted = 0
        self.saved = 0  # pages 0 .. saved-1 are committed and the position is past them
        self.pages: dict[int, tuple[dict[str, Any] | None, int]] = {}
        self.committed: set[int] = set()
        self.failure: str | None = None

    def submit(self, page: Page) -> None:
        if self.failure is None:
            seq, self.submitted = self.submitted, self.submitted + 1
            self.pages[seq] = (page.resume, len(page.items))
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
        pool = self.syncer.pool_started
        if pool is not None and pool.in_flight:
            # A stopped worker is already on its way up as the walk's failure.
            with contextlib.suppress(PageWorkerError):
                self._take(pool.drain())

    def _take(self, results: list[dict[str, Any]]) -> None:
        for result in results:
            seq = result["seq"]
            if "failure" in result:
                self.failure = self.failure or (
                    f"{self.resource} page {seq + 1} of this run: {result['failure']}"
                )
                continue
            self.syncer.tally.add(result)
            self.committed.add(seq)
        first = self.saved
        resume, items = None, 0
        while self.saved in self.committed:
            self.committed.discard(self.saved)
            resume, count = self.pages.pop(self.saved)
            items += count
            self.saved += 1
        if self.saved > first:
            self.syncer.positions_save(self.resource, resume, pages=self.saved - first, items=items)


def page_apply(job: Mapping[str, Any]) -> dict[str, Any]:
    """Applies one page (in a page worker, TRANSACTION_ITEMS items per transaction) and
    returns what it counted; the coordinator saves the position."""
    from apps.integrations.providers import provider_named

    org = Organization.objects.get(pk=job["org"])
    run = SyncRun(org=org, provider=job["provider"], full=job["full"])
    syncer = provider_named(job["provider"]).syncer(
        org=org, client=None, run=run, full=job["full"], since=job["since"], on_progress=None
    )
    syncer.queue_page(job["resource"], job["items"], job["context"])
    syncer.write_page(job["resource"])
    return {"seq": job["seq"], **syncer.tally.figures()}
