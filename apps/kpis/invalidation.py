"""Rollup invalidation: the services that change counted rows (contacts, calls, PCFs, deals,
payments, refunds, ad spend) say which org-local days they touched, explicitly, bulk writes
included; after the commit one refresh per org is enqueued for those days.

Domain services import this module (and only this one) of apps.kpis: the import-linter
contract in pyproject.toml names it as the exception. A missed call shows up as drift in
``rollup_check`` (and is repaired by the nightly rebuild).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date, datetime

from django.db import transaction

logger = logging.getLogger(__name__)
# Changes waiting for their transaction to commit, per thread: a transaction that writes 500
# rows enqueues one refresh, not 500.
_local = threading.local()


def rollups_invalidate(
    *,
    org_id: int,
    moments: Iterable[datetime | date | None] = (),
    contacts: Iterable[int | None] = (),
    meetings: Iterable[int | None] = (),
    payments: Iterable[int | None] = (),
    contact_rows: Iterable[int | None] = (),
) -> None:
    """The days of ``moments`` (row dates before and after the change) need a refresh, and so
    do the days of: every call of ``contacts`` (a triage call changes whether its solution calls
    were booked direct), ``meetings`` (a PCF counts on its call's day), ``payments`` (a refund
    nets its payment's cash), and every row of ``contact_rows`` (contacts whose source,
    campaign or merge changed: all their rows move). Call it inside the write's transaction."""
    expand = {
        "contacts": [i for i in contacts if i],
        "meetings": [i for i in meetings if i],
        "payments": [i for i in payments if i],
        "contact_rows": [i for i in contact_rows if i],
    }
    payload = {
        "moments": [m.isoformat() for m in moments if isinstance(m, datetime | date)],
        "expand": {name: ids for name, ids in expand.items() if ids},
    }
    if payload["moments"] or payload["expand"]:
        _register(org_id, payload)


def _register(org_id: int, payload: dict) -> None:
    pending = _local.__dict__.setdefault("pending", {})
    pending.setdefault(org_id, []).append(payload)
    if getattr(_local, "deferred", 0):
        return  # rollups_deferred flushes at its end
    # Every change registers a callback, but the first to run takes everything pending (so the
    # changes of a rolled-back transaction are at worst refreshed once more, never lost).
    transaction.on_commit(_flush)


@contextmanager
def rollups_deferred():
    """The changes committed inside, by any number of transactions, enqueue one refresh when
    the block ends (a sync page applied in several transactions)."""
    depth = getattr(_local, "deferred", 0)
    _local.deferred = depth + 1
    try:
        yield
    finally:
        _local.deferred = depth
        if depth == 0:
            # Inside an outer transaction, after it commits, as ever.
            transaction.on_commit(_flush)


def _flush() -> None:
    pending = _local.__dict__.pop("pending", {})
    for org_id, payloads in pending.items():
        merged = {"moments": [], "expand": {}}
        for payload in payloads:
            merged["moments"] += payload["moments"]
            for name, ids in payload["expand"].items():
                merged["expand"].setdefault(name, []).extend(ids)
        _enqueue(org_id, merged)


def _enqueue(org_id: int, payload: dict) -> None:
    # Never fail the write that triggered us: a missed refresh is repaired by the nightly rebuild.
    try:
        from apps.kpis.services import rollup_refresh_claim
        from apps.kpis.tasks import rollup_refresh_days_task
        from apps.orgs.models import Organization

        org = Organization.objects.filter(pk=org_id).first()
        if org is None:
            return  # a rolled-back or deleted org: nothing to refresh
        days = rollup_refresh_claim(org_id=org_id, days=touched_days(org=org, payload=payload))
        if days:
            rollup_refresh_days_task.delay(org_id, [day.isoformat() for day in days])
    except Exception:
        logger.exception("rollup refresh for org %s could not be enqueued", org_id)


def touched_days(*, org, payload: dict) -> set[date]:
    from apps.deals.models import Deal
    from apps.kpis.services import rollup_days_for
    from apps.meetings.models import Meeting
    from apps.payments.models import Payment, Refund

    moments: list = []
    for text in payload["moments"]:
        moments.append(datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text))
    expand = payload["expand"]
    if expand.get("contacts"):
        moments += Meeting.objects.filter(org=org, contact_id__in=expand["contacts"]).values_list(
            "scheduled_at", flat=True
        )
    if expand.get("meetings"):
        moments += Meeting.objects.filter(org=org, pk__in=expand["meetings"]).values_list(
            "scheduled_at", flat=True
        )
    if expand.get("payments"):
        moments += Payment.objects.filter(org=org, pk__in=expand["payments"]).values_list(
            "paid_at", flat=True
        )
    if expand.get("contact_rows"):
        ids = expand["contact_rows"]
        moments += Meeting.objects.filter(org=org, contact_id__in=ids).values_list(
            "scheduled_at", flat=True
        )
        moments += Deal.objects.filter(org=org, contact_id__in=ids).values_list(
            "closed_at", flat=True
        )
        moments += Payment.objects.filter(org=org, contact_id__in=ids).values_list(
            "paid_at", flat=True
        )
        moments += Refund.objects.filter(org=org, payment__contact_id__in=ids).values_list(
            "refunded_at", flat=True
        )
    return rollup_days_for(org=org, moments=moments)
