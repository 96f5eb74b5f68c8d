"""The base of every provider's syncer (``apps/integrations/providers/<name>/sync.py``).

A provider's syncer says what to walk (``sync``: one ``ingest_walk`` per list, with a function
giving its pages from a position) and how a page's items become records (``queue_page``: one
``ingest`` per item, with the parser of ``attribution.sources.<name>``). The rest is here and in
the modules it stands on: the walk's cursor (sync_walk.py), the page writer and the run's counts
(sync_pages.py), and the pages applied side by side by page workers (side_by_side.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.conf import settings as django_settings
from django.db import connection, transaction

from apps.integrations.clients import Page
from apps.integrations.page_workers import PagePool
from apps.integrations.sync_pages import PageWriter, RunTally
from apps.integrations.sync_walk import (
    prefetched,
    walk_begin,
    walk_finish,
    walk_position_save,
)

# A backfill grows the tables it fills far faster than autovacuum re-reads them: every
# STATS_CHECK_PAGES committed pages, their planner statistics are checked (sync.py).
STATS_CHECK_PAGES = 10


class ProviderSync:
    provider = ""

    def __init__(self, *, org, client, run, full, since, on_progress):
        self.org = org
        self.client = client
        self.run = run
        self.full = full
        self.since = since
        self.on_progress = on_progress
        self.tally = RunTally(run, org_slug=org.slug, incremental=not full and since is None)
        self.writer = PageWriter(org, self.tally)
        self._pages = 0
        self._pool: PagePool | None = None

    @property
    def reconciliation(self) -> dict[str, Any]:
        return self.tally.reconciliation

    @property
    def errors(self) -> list[str]:
        return self.tally.errors

    # what a provider's syncer says

    def sync(self) -> None:
        raise NotImplementedError

    def queue_page(self, resource: str, items: list[Any], context: Any) -> None:
        """Queues one page's items for ingestion (``ingest`` each); runs where the page is
        applied, the coordinator or a page worker, so it may only read the database."""
        raise NotImplementedError

    def page_payload(self, page: Page) -> list[Any]:
        """What ``queue_page`` gets of a page: its items, or what was fetched for them."""
        return page.items

    # what it calls

    def ingest(
        self,
        resource: str,
        item: Mapping[str, Any],
        parse: Callable[[Mapping[str, Any]], Iterable[object]],
        ref_key: str = "id",
        raw: Mapping[str, Any] | None = None,
        then: Callable[[list[str]], None] | None = None,
    ) -> None:
        """One API item for the page's ingestion (``PageWriter.queue``)."""
        self.writer.queue(resource, item, parse, ref_key, raw, then)

    def discovered(self, key: str) -> None:
        self.tally.discovered(key)

    def settings(self) -> Mapping[str, Any]:
        value = (self.org.settings or {}).get(self.provider)
        return value if isinstance(value, Mapping) else {}

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
        from apps.integrations.providers import provider_named
        from apps.integrations.side_by_side import PagesSideBySide

        walk = walk_begin(
            org=self.org,
            provider=self.provider,
            resource=resource,
            full=self.full,
            since=self.since,
            overlap=provider_named(self.provider).overlap,
        )
        self.run.progress.update(resource=resource, resumed=walk.resumed, since=walk.since)
        side_by_side = None
        try:
            for page in prefetched(pages(walk.since, walk.position)):
                if side_by_side is None and page.resume is not None and self._side_by_side():
                    side_by_side = PagesSideBySide(self, resource, context)
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
        walk_finish(walk)

    # pages

    @contextmanager
    def commit_page(self, resource: str, page: Page):
        """Queue a page's items inside this block; after it, they are applied and the resume
        position is saved with the last of them."""
        before = self.tally.snapshot()
        self.writer.discard()
        try:
            yield
        except BaseException:
            self.writer.discard()
            self.tally.restore(before)
            raise
        self.writer.write(
            resource,
            lambda: self.position_save(resource, page.resume, pages=1, items=len(page.items)),
        )
        self.pages_committed(1)

    def write_page(self, resource: str) -> None:
        """Applies the items queued, without saving a position (a page worker's page: the
        coordinator saves it)."""
        self.writer.write(resource, None)

    def position_save(
        self, resource: str, resume: dict[str, Any] | None, *, pages: int, items: int
    ) -> None:
        """Moves the walk of ``resource`` past ``pages`` more pages and saves the run."""
        walk_position_save(org=self.org, provider=self.provider, resource=resource, resume=resume)
        self.tally.progress_save(resource, pages=pages, items=items)

    def positions_save(
        self, resource: str, resume: dict[str, Any] | None, *, pages: int, items: int
    ) -> None:
        """``position_save`` in its own transaction, then counted as committed pages."""
        with transaction.atomic():
            self.position_save(resource, resume, pages=pages, items=items)
        self.pages_committed(pages)

    def pages_committed(self, pages: int) -> None:
        from apps.integrations.sync_statistics import statistics_refresh

        before, self._pages = self._pages, self._pages + pages
        crossed = self._pages // STATS_CHECK_PAGES > before // STATS_CHECK_PAGES
        if crossed and not connection.in_atomic_block:
            statistics_refresh()
        if self.on_progress:
            self.on_progress(self.run)

    # page workers

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

    @property
    def pool_started(self) -> PagePool | None:
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self.run.progress["page_workers"] = {
                "count": self._pool.size,
                "peak_rss_mb": self._pool.peak_rss_mb,
            }
            self._pool = None
