"""Keeps the rollups current whoever writes: every save or delete of a counted row enqueues a
refresh of the org-local days it touched (before and after the change), after the commit.

The services of other apps may also call ``rollup_refresh_days`` directly; a second refresh of
the same day is harmless. Queryset ``update()``/``bulk_create`` send no signals: the nightly
rebuild (and ``rollup_check``) cover those.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from datetime import date, datetime

from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save, pre_delete

from apps.contacts.models import Contact
from apps.contacts.signals import contacts_bulk_changed
from apps.deals.models import Deal
from apps.kpis.models import AdSpend
from apps.kpis.selectors import month_bounds
from apps.meetings.models import Meeting, PostCallForm
from apps.payments.models import Payment, Refund

logger = logging.getLogger(__name__)
# Changes waiting for their transaction to commit, per thread: a transaction that writes 500
# rows enqueues one refresh, not 500.
_local = threading.local()

# The fields whose old value tells which days a change leaves (snapshot at load, no query).
_WATCHED = {
    Contact: ("first_seen_at", "original_source", "original_campaign", "merged_into_id"),
    Meeting: ("scheduled_at", "contact_id"),
    PostCallForm: ("meeting_id",),
    Deal: ("closed_at", "contact_id"),
    Payment: ("paid_at", "contact_id"),
    Refund: ("refunded_at", "payment_id"),
    AdSpend: ("date", "granularity"),
}


def _snapshot(sender, instance, **kwargs):
    instance._kpis_old = {name: instance.__dict__.get(name) for name in _WATCHED[sender]}


def _moments(instance, values: dict) -> tuple[list, dict]:
    """(datetimes/dates touched, expansions to look up after commit)."""
    if isinstance(instance, AdSpend):
        day = values.get("date")
        if day is None:
            return [], {}
        if values.get("granularity") == AdSpend.Granularity.MONTH:
            first, last = month_bounds(day)
            return [date.fromordinal(d) for d in range(first.toordinal(), last.toordinal() + 1)], {}
        return [day], {}
    if isinstance(instance, Contact):
        return [values.get("first_seen_at")], {}
    if isinstance(instance, Meeting):
        # A triage call changes whether the contact's solution calls were booked "direct".
        return [values.get("scheduled_at")], {"contacts": [values.get("contact_id")]}
    if isinstance(instance, PostCallForm):
        return [], {"meetings": [values.get("meeting_id")]}
    if isinstance(instance, Deal):
        return [values.get("closed_at")], {}
    if isinstance(instance, Payment):
        return [values.get("paid_at")], {}
    if isinstance(instance, Refund):
        # Cash is net of refunds on the payment's own day.
        return [values.get("refunded_at")], {"payments": [values.get("payment_id")]}
    return [], {}


def _changed(sender, instance, **kwargs):
    org_id = getattr(instance, "org_id", None)
    if org_id is None:
        return
    old = getattr(instance, "_kpis_old", {})
    new = {name: instance.__dict__.get(name) for name in _WATCHED[sender]}
    moments, expand = _moments(instance, new)
    if old and old != new:
        old_moments, old_expand = _moments(instance, old)
        moments += old_moments
        for name, ids in old_expand.items():
            expand[name] = expand.get(name, []) + ids
    if (
        isinstance(instance, Contact)
        and old
        and any(
            old.get(name) != new.get(name)
            for name in ("original_source", "original_campaign", "merged_into_id")
        )
    ):
        # Source and campaign of everything follow the contact: all its rows move. A merge or
        # unmerge moves rows between the two contacts before this runs, so both are looked at.
        expand["contact_rows"] = [instance.pk, old.get("merged_into_id"), new.get("merged_into_id")]
    moments = [m.isoformat() if isinstance(m, datetime | date) else None for m in moments]
    payload = {
        "moments": [m for m in moments if m],
        "expand": {k: [i for i in v if i] for k, v in expand.items()},
    }
    instance._kpis_old = new
    _register(org_id, payload)


def _contact_deleting(sender, instance, **kwargs):
    # Deleting a contact empties the contact of its calls, deals and payments (SET_NULL, no
    # signals) and revives contacts merged into it as leads: their days are looked up now,
    # while the links still exist.
    if instance.org_id is None or instance.pk is None:
        return
    moments = list(instance.merged_contacts.values_list("first_seen_at", flat=True))
    ids = [instance.pk]
    for model, field in ((Meeting, "scheduled_at"), (Deal, "closed_at"), (Payment, "paid_at")):
        moments += model.objects.filter(contact_id__in=ids).values_list(field, flat=True)
    moments += Refund.objects.filter(payment__contact_id__in=ids).values_list(
        "refunded_at", flat=True
    )
    _register(
        instance.org_id,
        {"moments": [m.isoformat() for m in moments if m is not None], "expand": {}},
    )


def _contacts_bulk_changed(sender, *, org_id, moments, moved_contact_ids, **kwargs):
    _register(
        org_id,
        {
            "moments": [m.isoformat() for m in moments if m is not None],
            "expand": {"contact_rows": list(moved_contact_ids)},
        },
    )


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
    from apps.kpis.services import rollup_days_for

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


def connect() -> None:
    for model in _WATCHED:
        uid = f"kpis-rollup-{model._meta.label_lower}"
        post_init.connect(_snapshot, sender=model, dispatch_uid=f"{uid}-init")
        post_save.connect(_changed, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{uid}-delete")
    pre_delete.connect(_contact_deleting, sender=Contact, dispatch_uid="kpis-rollup-contact-pre")
    contacts_bulk_changed.connect(_contacts_bulk_changed, dispatch_uid="kpis-rollup-contacts-bulk")
