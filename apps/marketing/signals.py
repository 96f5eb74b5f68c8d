"""Keeps the journey table current whoever writes, as kpis/signals.py keeps the rollups: a save
or delete of a touchpoint, call, deal, payment or refund enqueues, after the commit, a refresh
of the contacts it touched (before and after the change). Campaign days, ad spend and the
channel table bump the input version (they are read live, not stored in journeys).

Bulk writes of touchpoints and deals announce themselves (``journey_rows_bulk_changed``); a
merge or unmerge is heard through the loser's ``merged_into``. Other queryset ``update()`` and
``bulk_create`` calls send no signals: the nightly rebuild covers those.
"""

from __future__ import annotations

import logging
import threading

from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save

from apps.contacts.models import Contact, Touchpoint
from apps.contacts.signals import journey_rows_bulk_changed
from apps.deals.models import Deal
from apps.kpis.models import AdSpend
from apps.marketing.models import Campaign, CampaignDay, ChannelMapping
from apps.meetings.models import Meeting
from apps.payments.models import Payment, Refund

logger = logging.getLogger(__name__)
_local = threading.local()

# Models whose rows are in journeys, and the path to their contact id.
_CONTACT_ROWS = {Touchpoint: "contact_id", Meeting: "contact_id", Deal: "contact_id", Payment: "contact_id"}  # fmt: skip
# Models read live by the page: a change only makes the cached figures stale.
_LIVE = (AdSpend, Campaign, CampaignDay, ChannelMapping)


def _snapshot(sender, instance, **kwargs):
    instance._journey_contact = instance.__dict__.get(_CONTACT_ROWS[sender])


def _changed(sender, instance, **kwargs):
    org_id = getattr(instance, "org_id", None)
    if org_id is None:
        return
    contact_ids = {
        instance.__dict__.get(_CONTACT_ROWS[sender]),
        getattr(instance, "_journey_contact", None),
    }
    instance._journey_contact = instance.__dict__.get(_CONTACT_ROWS[sender])
    _register(org_id, {pk for pk in contact_ids if pk})


def _refund_changed(sender, instance, **kwargs):
    if instance.org_id is None:
        return
    contact_id = (
        Payment.objects.filter(pk=instance.payment_id).values_list("contact_id", flat=True).first()
    )
    if contact_id:
        _register(instance.org_id, {contact_id})


def _contact_snapshot(sender, instance, **kwargs):
    instance._journey_merged_into = instance.__dict__.get("merged_into_id")


def _contact_changed(sender, instance, **kwargs):
    # A merge moves the loser's rows to the winner with update() (no signals), then saves the
    # loser with merged_into set; an unmerge moves them back and clears it: both contacts'
    # journeys are rebuilt.
    old = getattr(instance, "_journey_merged_into", None)
    new = instance.__dict__.get("merged_into_id")
    instance._journey_merged_into = new
    if instance.org_id is not None and old != new:
        _register(instance.org_id, {pk for pk in (instance.pk, old, new) if pk})


def _bulk_changed(sender, *, org_id, contact_ids, **kwargs):
    _register(org_id, {pk for pk in contact_ids if pk})


def _live_changed(sender, instance, **kwargs):
    if getattr(instance, "org_id", None) is not None:
        _register(instance.org_id, set())


def _register(org_id: int, contact_ids: set[int]) -> None:
    pending = _local.__dict__.setdefault("pending", {})
    pending.setdefault(org_id, set()).update(contact_ids)
    transaction.on_commit(_flush)


def _flush() -> None:
    pending = _local.__dict__.pop("pending", {})
    for org_id, contact_ids in pending.items():
        _enqueue(org_id, sorted(contact_ids))


def _enqueue(org_id: int, contact_ids: list[int]) -> None:
    # Never fail the write that triggered us: the nightly rebuild repairs a missed refresh.
    try:
        from apps.marketing.tasks import journeys_refresh_task

        journeys_refresh_task.delay(org_id, contact_ids)
    except Exception:
        logger.exception("journey refresh for org %s could not be enqueued", org_id)


def connect() -> None:
    for model in _CONTACT_ROWS:
        uid = f"marketing-journeys-{model._meta.label_lower}"
        post_init.connect(_snapshot, sender=model, dispatch_uid=f"{uid}-init")
        post_save.connect(_changed, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{uid}-delete")
    post_save.connect(_refund_changed, sender=Refund, dispatch_uid="marketing-journeys-refund-save")
    post_delete.connect(
        _refund_changed, sender=Refund, dispatch_uid="marketing-journeys-refund-del"
    )
    post_init.connect(_contact_snapshot, sender=Contact, dispatch_uid="marketing-contact-init")
    post_save.connect(_contact_changed, sender=Contact, dispatch_uid="marketing-contact-save")
    journey_rows_bulk_changed.connect(_bulk_changed, dispatch_uid="marketing-journeys-bulk")
    for model in _LIVE:
        uid = f"marketing-live-{model._meta.label_lower}"
        post_save.connect(_live_changed, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_live_changed, sender=model, dispatch_uid=f"{uid}-delete")
