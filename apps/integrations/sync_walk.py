"""A sync's list walks: where each stands (its SyncCursor) and the pages fetched ahead.

Each list walk keeps a SyncCursor per (org, provider, resource): :func:`walk_begin` reads or
starts its walk, :func:`walk_position_save` moves the resume position (in the transaction of the
page it follows, so a run killed mid-way resumes at the first page it had not committed), and
:func:`walk_finish` closes it, so the next incremental run starts from when this one did.
:func:`prefetched` walks the HTTP side on a thread, a few pages ahead of the database side.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from apps.integrations.clients import Page
from apps.integrations.models import SyncCursor
from apps.orgs.models import Organization


@dataclass
class Walk:
    """Where one list walk stands: ``since`` it started from and the ``position`` to resume at."""

    cursor: SyncCursor
    since: str | None
    position: dict[str, Any] | None
    resumed: bool


def walk_begin(
    *,
    org: Organization,
    provider: str,
    resource: str,
    full: bool,
    since: datetime | None,
    overlap: timedelta,
) -> Walk:
    """The walk of ``resource`` to run: the one a killed run left (resumed), or a new one from
    ``since``, from the start (``full`` or never synced), or from the last success less
    ``overlap``."""
    cursor, _ = SyncCursor.objects.get_or_create(org=org, provider=provider, resource=resource)
    state = cursor.cursor or {}
    current = state.get("walk")
    if current and current.get("done"):
        # Killed between committing the last page and closing the walk: it is complete.
        state["last_success_at"] = current.get("started_at")
        state.pop("walk")
        current = None
    explicit = full or since is not None
    if current and not (explicit and current.get("full") != full) and since is None:
        return Walk(cursor, current.get("since"), current.get("position"), resumed=True)
    if since is not None:
        start = since
    elif full or not state.get("last_success_at"):
        start = None
    else:
        start = datetime.fromisoformat(state["last_success_at"]) - overlap
    since_text = start.astimezone(UTC).isoformat() if start else None
    state["walk"] = {
        "full": start is None,
        "since": since_text,
        "position": None,
        "started_at": timezone.now().isoformat(),
    }
    cursor.cursor = state
    cursor.save(update_fields=["cursor", "updated_at"])
    return Walk(cursor, since_text, None, resumed=False)


def walk_position_save(
    *, org: Organization, provider: str, resource: str, resume: dict[str, Any] | None
) -> None:
    """Moves the walk's resume position (None: its last page is in); call it in the
    transaction of the page it follows."""
    cursor = SyncCursor.objects.select_for_update().get(
        org=org, provider=provider, resource=resource
    )
    state = cursor.cursor or {}
    if "walk" in state:
        state["walk"]["position"] = resume
        state["walk"]["done"] = resume is None
    cursor.cursor = state
    cursor.save(update_fields=["cursor", "updated_at"])


def walk_finish(walk: Walk) -> None:
    cursor = SyncCursor.objects.get(pk=walk.cursor.pk)
    state = cursor.cursor or {}
    current = state.pop("walk", None) or {}
    state["last_success_at"] = current.get("started_at") or timezone.now().isoformat()
    cursor.cursor = state
    cursor.save(update_fields=["cursor", "updated_at"])


PREFETCH_PAGES = 2


def prefetched(pages: Iterator[Page], *, depth: int = PREFETCH_PAGES) -> Iterator[Page]:
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
