"""Row-level rollup invalidation for single-row saves and deletes of counted rows: every save
or delete of one enqueues a refresh of the org-local days it touched (before and after the
change), through ``apps.kpis.invalidation``.

Bulk writes (queryset ``update()``, ``bulk_update``, the resolver's and the CRM sync's bulk
inserts) send no model signals: their services call ``rollups_invalidate`` explicitly.
"""

from __future__ import annotations

from datetime import date

from django.db.models.signals import post_delete, post_init, post_save, pre_delete

from apps.contacts.models import Contact
from apps.deals.models import Deal
from apps.kpis.invalidation import rollups_invalidate
from apps.kpis.models import AdSpend
from apps.kpis.selectors import month_bounds
from apps.meetings.models import Meeting, PostCallForm
from apps.payments.models import Payment, Refund

# Re-exported: the sync applies a page in several transactions under one deferral.
__all__ = ["connect"]

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
    instance._kpis_old = new
    rollups_invalidate(org_id=org_id, moments=moments, **expand)


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
    rollups_invalidate(org_id=instance.org_id, moments=moments)


def connect() -> None:
    for model in _WATCHED:
        uid = f"kpis-rollup-{model._meta.label_lower}"
        post_init.connect(_snapshot, sender=model, dispatch_uid=f"{uid}-init")
        post_save.connect(_changed, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{uid}-delete")
    pre_delete.connect(_contact_deleting, sender=Contact, dispatch_uid="kpis-rollup-contact-pre")
