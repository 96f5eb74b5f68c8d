"""A person's data on request (GDPR art. 15 and 17): everything we hold, exported; or erased.

A person is a contact together with every contact merged into it. Erasure removes what
identifies them and keeps what the org's numbers are made of: the contact row (as "Contact #id"),
its first touch (date, source, campaign), calls, deals and payments, so no KPI moves. Admin
actions, and anything else that erases or exports, call these two services.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from apps.contacts import suppression
from apps.contacts.models import (
    Contact,
    ContactMerge,
    ContactNameKey,
    Identifier,
    MergeCandidate,
    SourceRecord,
    Touchpoint,
)
from apps.deals.models import CallActivity, Deal
from apps.meetings.models import Meeting, PostCallForm
from apps.orgs.admin_base import admin_audit_forget
from apps.orgs.models import AuditLog, Organization, User
from apps.orgs.services import audit_log_write
from apps.payments.models import Payment, Refund

logger = logging.getLogger(__name__)

ERASED_BODY = b'{"erased": true}'
# Raw deliveries naming a person kept outside the domain apps (the webhook inbox): the app that
# keeps them registers how to erase them (apps.integrations, in its AppConfig.ready), so an
# erasure reaches them while contacts imports nothing above it. name -> eraser(org, tokens).
_DELIVERY_ERASERS: dict[str, Callable[[Organization, set[str]], int]] = {}


def delivery_eraser_register(name: str, eraser: Callable[[Organization, set[str]], int]) -> None:
    """``eraser(org, tokens)`` blanks every delivery of ``org`` holding one of ``tokens`` (values
    identifying the erased people) and returns how many it blanked."""
    _DELIVERY_ERASERS[name] = eraser


# What an erased contact keeps of its own columns: nothing that names the person.
NAMELESS = {
    "first_name": "", "last_name": "", "primary_email": "", "primary_phone": "", "company": "",
    "field_sources": {},
}  # fmt: skip
# Shorter values (a two-letter id, "12") would match inside unrelated deliveries.
_MIN_TOKEN = 6


def person_contact_ids(*, org: Organization, contact: Contact) -> list[int]:
    """The contact a person lives on now (the merge winner), then every contact merged into it."""
    root, seen = contact, {contact.pk}
    while root.merged_into_id and root.merged_into_id not in seen:
        seen.add(root.merged_into_id)
        root = Contact.objects.for_org(org).get(pk=root.merged_into_id)
    ids, frontier = [root.pk], [root.pk]
    while frontier:
        frontier = list(
            Contact.objects.for_org(org)
            .filter(merged_into_id__in=frontier)
            .exclude(pk__in=ids)
            .values_list("pk", flat=True)
        )
        ids += frontier
    return ids


def _rows(queryset: models.QuerySet, exclude: Iterable[str] = ("org_id",)) -> list[dict]:
    fields = [f.attname for f in queryset.model._meta.concrete_fields if f.attname not in exclude]
    rows = []
    for row in queryset.order_by("pk").values(*fields):
        if isinstance(row.get("body"), bytes | memoryview):
            row["body"] = bytes(row["body"]).decode("utf-8", "replace")
        rows.append(row)
    return rows


def contact_export(*, org: Organization, contact: Contact, actor: User | None) -> dict:
    """Everything the org holds on the person behind ``contact``, as JSON-ready data."""
    ids = person_contact_ids(org=org, contact=contact)
    meetings = Meeting.objects.for_org(org).filter(contact_id__in=ids)
    payments = Payment.objects.for_org(org).filter(contact_id__in=ids)
    data = {
        "exported_at": timezone.now(),
        "contacts": _rows(Contact.objects.for_org(org).filter(pk__in=ids)),
        "identifiers": _rows(Identifier.objects.filter(contact_id__in=ids)),
        "source_records": _rows(SourceRecord.objects.filter(contact_id__in=ids)),
        "touchpoints": _rows(Touchpoint.objects.filter(contact_id__in=ids)),
        "meetings": _rows(meetings),
        "post_call_forms": _rows(PostCallForm.objects.filter(meeting__in=meetings)),
        "deals": _rows(Deal.objects.for_org(org).filter(contact_id__in=ids)),
        "call_activities": _rows(CallActivity.objects.for_org(org).filter(contact_id__in=ids)),
        "payments": _rows(payments),
        "refunds": _rows(Refund.objects.filter(payment__in=payments)),
    }
    audit_log_write(
        org=org, actor=actor, action="contact.export", target=contact, contacts=len(ids)
    )
    # Round-tripped so the caller gets plain JSON types (dates as ISO text, decimals as text).
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def contact_erase(*, org: Organization, contact: Contact, actor: User | None) -> dict[str, int]:
    """Erases the person behind ``contact``; returns how many rows of each kind were touched.

    Gone: names, company, emails, phones, provider ids, raw payloads, form answers, call
    notes, landing URLs, review pairs, the undo data of merges, and the bodies of webhook
    deliveries that carry any of their identifiers. A delivery not processed yet is closed, so
    it cannot bring them back. Their identifiers are suppressed and the provider ids kept for
    idempotency become keyed hashes (``suppression``): a later sync or webhook about them, an
    object already held or a new one, applies to this nameless contact without storing
    anything personal (``erased_contacts_scrub``). The audit row records counts, never values.
    """
    with transaction.atomic():
        ids = person_contact_ids(org=org, contact=contact)
        people = Contact.objects.for_org(org).select_for_update().filter(pk__in=ids)
        locked = {c.pk: c for c in people}  # takes the locks before anything is read for erasure
        # Before _erase_rows deletes the identifiers it hashes. Later data about the person goes
        # to the contact they live on (ids[0]).
        suppressed = suppression.suppressions_write(
            org=org, contact=locked[ids[0]], contact_ids=ids
        )
        counts = {"contacts": len(ids), "suppressions": suppressed, **_erase_rows(org, ids)}
        people.update(**NAMELESS, erased_at=timezone.now())
        admin_audit_forget(org=org, person_ids=ids)
        audit_log_write(org=org, actor=actor, action="contact.erase", target=contact, **counts)
    logger.info("erased contact %s of org %s: %s", contact.pk, org.pk, counts)
    return counts


def erased_contacts_scrub(
    *,
    org: Organization,
    contact_ids: Iterable[int],
    deliveries: bool = True,
    tokens: Iterable[str] = (),
) -> dict[str, int]:
    """Erases again what a sync or webhook just wrote about already erased contacts: a provider
    that still holds them sends their raw objects, answers and notes with every update.
    ``tokens`` are the values the records applied carried in clear (their own are hashed by
    now); ``deliveries=False`` leaves the webhook inbox unsearched (a sync page stores none)."""
    ids = list(
        Contact.objects.for_org(org)
        .filter(pk__in=list(contact_ids), erased_at__isnull=False)
        .values_list("pk", flat=True)
    )
    if not ids:
        return {}
    with transaction.atomic():
        Contact.objects.for_org(org).filter(pk__in=ids).update(**NAMELESS)
        counts = _erase_rows(org, ids, deliveries=deliveries, tokens=tokens)
    logger.info("scrubbed erased contacts %s of org %s: %s", ids, org.pk, counts)
    return counts


def _erase_rows(
    org: Organization, ids: list[int], *, deliveries: bool = True, tokens: Iterable[str] = ()
) -> dict[str, int]:
    """Blanks what identifies the people ``ids`` in every row about them; their contact rows
    are the caller's."""
    tokens = _identifying_tokens(org, ids) | {t for t in tokens if t and len(t) >= _MIN_TOKEN}
    merges = ContactMerge.objects.for_org(org).filter(Q(winner_id__in=ids) | Q(loser_id__in=ids))
    _erase_audit_reasons(org, [str(pk) for pk in merges.values_list("pk", flat=True)])
    counts = {
        "identifiers": Identifier.objects.filter(contact_id__in=ids).delete()[0],
        "name_keys": ContactNameKey.objects.filter(contact_id__in=ids).delete()[0],
        "review_pairs": MergeCandidate.objects.for_org(org)
        .filter(Q(contact_a_id__in=ids) | Q(contact_b_id__in=ids))
        .delete()[0],
        "merges": merges.update(moved={}, reason=""),
        "source_records": SourceRecord.objects.filter(contact_id__in=ids).update(payload={}),
        "touchpoints": Touchpoint.objects.filter(contact_id__in=ids).update(landing_url=""),
        "meetings": Meeting.objects.for_org(org)
        .filter(contact_id__in=ids)
        # The booking's URI is the first part of the invitee's, hashed by pseudonyms_write.
        .update(questions=[], cancel_reason="", event_uri=""),
        "post_call_forms": PostCallForm.objects.filter(meeting__contact_id__in=ids).update(
            notes="", custom={}
        ),
        "call_activities": CallActivity.objects.for_org(org)
        .filter(contact_id__in=ids)
        .update(note=""),
        "payments": Payment.objects.for_org(org).filter(contact_id__in=ids).update(description=""),
        # After _identifying_tokens: the deliveries carry these ids in clear.
        "provider_ids": suppression.pseudonyms_write(org=org, contact_ids=ids),
    }
    for name, eraser in _DELIVERY_ERASERS.items():
        counts[name] = eraser(org, tokens) if deliveries else 0
    return counts


def _erase_audit_reasons(org: Organization, merge_ids: list[str]) -> None:
    # A merge's reason is typed by hand ("Erin Cole twice"); who merged what, and when, stays.
    entries = AuditLog.objects.filter(
        org=org, target_type=ContactMerge._meta.label_lower, target_id__in=merge_ids
    )
    for entry in entries:
        if entry.data.get("reason"):
            entry.data["reason"] = ""
            entry.save(update_fields=["data"])


def _identifying_tokens(org: Organization, ids: list[int]) -> set[str]:
    """Values that identify the person inside a raw delivery: identifiers as stored and as
    typed, and the provider ids of their records, calls, deals and payments."""
    tokens: set[str] = set()
    for value, raw in Identifier.objects.filter(contact_id__in=ids).values_list("value", "raw"):
        tokens |= {value, raw}
    tokens.update(
        SourceRecord.objects.filter(contact_id__in=ids).values_list("external_id", flat=True)
    )
    for model in (Meeting, Deal, CallActivity, Payment):
        tokens.update(
            model.objects.for_org(org)
            .filter(contact_id__in=ids)
            .values_list("external_id", flat=True)
        )
    tokens.update(
        Payment.objects.for_org(org).filter(contact_id__in=ids).values_list("charge_id", flat=True)
    )
    return {t for t in tokens if t and len(t) >= _MIN_TOKEN}
