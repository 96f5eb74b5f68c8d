"""The one ingestion path: a typed record from a webhook or a sync -> contacts, meetings, deals, money.

Webhooks (apps/integrations/webhooks.py) and the nightly sync both parse with
``attribution.sources.<provider>`` and hand each record to :func:`ingest_record`. Every step is an
upsert keyed by the provider's own id, so the same record twice, or from both paths, leaves one row
and reports ``UNCHANGED`` the second time.

Org-dependent parsing (which Typeform answer is the email, how a Close call says "no-show") lives
in :func:`parse_payload` and the ``*_for`` helpers, so both paths parse the same way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db import IntegrityError, connection, transaction

from apps.contacts.models import (
    Contact,
    Identifier,
    IdentifierKind,
    SourceRecord,
    Touchpoint,
    TouchpointKind,
)
from apps.contacts.services import contact_merge, contact_resolve, source_record_upsert
from apps.deals.models import CallActivity
from apps.deals.services import deal_upsert_from_crm
from apps.meetings.models import Meeting
from apps.meetings.services import (
    ENDED_STATUSES,
    meeting_set_crm_outcome,
    meeting_upsert_from_invitee,
)
from apps.orgs.models import Organization, TeamMember
from apps.payments.services import payment_upsert, refund_upsert
from attribution.sources import calendly, close, stripe, typeform, whop
from attribution.sources.records import (
    ExternalId,
    PaymentObservation,
    PersonObservation,
    RefundObservation,
    UnsupportedEvent,
)

__all__ = [
    "Outcome",
    "close_lead_owner_field",
    "close_no_show_rule",
    "ingest_record",
    "parse_payload",
    "typeform_field_mapping",
]


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


# --- org settings that shape parsing --------------------------------------------------------

# org.settings keys. Typeform: {"<form_id>": {"email": "<ref or id>", "phone": ..., ...}} with
# "*" as the fallback for every form; unmapped keys fall back to the parser's defaults by
# answer type (email, phone_number) and by field ref/title (first name, last name, company).
TYPEFORM_MAPPING_SETTING = "typeform_field_mapping"
CLOSE_NO_SHOW_SETTING = "close_no_show_rule"
CLOSE_LEAD_OWNER_SETTING = "close_lead_owner_field"


def typeform_field_mapping(*, org: Organization, form_id: str | None) -> dict[str, str]:
    per_form = (org.settings or {}).get(TYPEFORM_MAPPING_SETTING) or {}
    if not isinstance(per_form, Mapping):
        return {}
    chosen = {**(per_form.get("*") or {}), **(per_form.get(form_id or "") or {})}
    return {
        str(k): str(v) for k, v in chosen.items() if k in typeform.PERSON_FIELDS and str(v).strip()
    }


def close_no_show_rule(*, org: Organization) -> close.NoShowRule | None:
    raw = (org.settings or {}).get(CLOSE_NO_SHOW_SETTING)
    if not isinstance(raw, Mapping):
        return None
    known = {f.name for f in dataclasses.fields(close.NoShowRule)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            continue
        values[key] = tuple(value) if isinstance(value, list) else value
    return close.NoShowRule(**values)


def close_lead_owner_field(*, org: Organization) -> str | None:
    value = (org.settings or {}).get(CLOSE_LEAD_OWNER_SETTING)
    return str(value) if value else None


def parse_payload(*, org: Organization, provider: str, envelope: Mapping[str, Any]) -> object:
    """A webhook envelope -> one typed record, parsed with the org's settings.

    Raises ParseError for a body lacking what the provider always sends, UnsupportedEvent for an
    event type this app does not process.
    """
    if provider == "calendly":
        return calendly.parse_webhook(envelope)
    if provider == "typeform":
        response = envelope.get("form_response") if isinstance(envelope, Mapping) else None
        form_id = response.get("form_id") if isinstance(response, Mapping) else None
        return typeform.parse_webhook(
            envelope, field_mapping=typeform_field_mapping(org=org, form_id=form_id)
        )
    if provider == "close":
        return close.parse_webhook(
            envelope,
            no_show_rule=close_no_show_rule(org=org),
            lead_owner_field=close_lead_owner_field(org=org),
        )
    if provider == "stripe":
        return stripe.parse_event(envelope)
    if provider == "whop":
        return whop.parse_webhook(envelope)
    raise UnsupportedEvent(provider, "unknown provider")  # type: ignore[arg-type]


# --- provenance -------------------------------------------------------------------------------


def _jsonable(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _payload(record: object, raw: Mapping[str, Any] | None) -> dict:
    # JSON round trip: the stored payload compares equal to what the database gives back.
    return json.loads(json.dumps(_jsonable(raw if raw is not None else record)))


def _provenance(
    *,
    org: Organization,
    provider: str,
    object_type: str,
    external_id: str,
    payload: dict,
    contact: Contact | None,
    occurred_at: datetime | None,
) -> tuple[SourceRecord, bool]:
    """Upserts the SourceRecord; returns it and whether anything about it changed."""
    before = (
        SourceRecord.objects.for_org(org)
        .filter(provider=provider, object_type=object_type, external_id=external_id)
        .values("payload", "contact_id")
        .first()
    )
    record = source_record_upsert(
        org=org,
        provider=provider,
        object_type=object_type,
        external_id=external_id,
        payload=payload,
        contact=contact,
        occurred_at=occurred_at,
    )
    changed = before is None or before != {"payload": payload, "contact_id": record.contact_id}
    return record, changed


def _resolve(org: Organization, person: PersonObservation) -> Contact | None:
    # A record that names nobody (a bare no-show mark) must not create an empty contact.
    if not (person.emails or person.phones or person.provider_ids):
        return None
    return contact_resolve(org=org, observation=person).contact


def _combine(created: bool, changed: bool) -> Outcome:
    if created:
        return Outcome.CREATED
    return Outcome.UPDATED if changed else Outcome.UNCHANGED


# --- per record type --------------------------------------------------------------------------

_MEETING_FIELDS = (
    "contact_id", "status", "scheduled_at", "ends_at", "event_uri", "event_name", "call_type",
    "canceled_at", "no_show_marked_at", "rescheduled_to_id", "replaces_external_id", "host_id",
    "closer_id", "setter_id", "showed",
)  # fmt: skip


def _meeting_state(org: Organization, invitee_uri: str) -> dict | None:
    return (
        Meeting.objects.for_org(org)
        .filter(provider="calendly", external_id=invitee_uri)
        .values(*_MEETING_FIELDS)
        .first()
    )


def _ingest_calendly(
    org: Organization, event: calendly.InviteeEvent, raw: Mapping[str, Any] | None
) -> Outcome:
    before = _meeting_state(org, event.invitee_uri)
    # A bare no-show body names only the invitee: the meeting keeps the contact it has.
    contact = _resolve(org, event.person) if event.event_uri else None
    meeting = meeting_upsert_from_invitee(org=org, event=event, contact=contact)
    # One provenance row per invitee and event kind, so a cancel does not overwrite the booking.
    _, changed = _provenance(
        org=org,
        provider="calendly",
        object_type=f"invitee.{event.kind}",
        external_id=event.invitee_uri,
        payload=_payload(event, raw),
        contact=contact or meeting.contact,
        occurred_at=event.occurred_at,
    )
    after = _meeting_state(org, event.invitee_uri)
    return _combine(before is None, changed or before != after)


def _ingest_typeform(
    org: Organization, response: typeform.FormResponse, raw: Mapping[str, Any] | None
) -> Outcome:
    contact = _resolve(org, response.person)
    source, changed = _provenance(
        org=org,
        provider="typeform",
        object_type="form_response",
        external_id=response.token,
        payload=_payload(response, raw),
        contact=contact,
        occurred_at=response.submitted_at,
    )
    if contact is None:
        return Outcome.SKIPPED
    # The source record row is locked by its upsert, so a sync and a webhook of the same
    # response cannot both add a touchpoint.
    utm = response.utm
    values = {
        "contact": contact,
        "kind": TouchpointKind.FORM,
        "occurred_at": response.submitted_at,
        "utm_source": (utm.source or "")[:200],
        "utm_medium": (utm.medium or "")[:200],
        "utm_campaign": (utm.campaign or "")[:200],
        "utm_content": (utm.content or "")[:200],
        "utm_term": (utm.term or "")[:200],
        "landing_url": (response.hidden.get("landing_url") or "")[:1000],
    }
    touchpoint = Touchpoint.objects.for_org(org).filter(source_record=source).first()
    if touchpoint is None:
        Touchpoint.objects.create(org=org, source_record=source, **values)
        return Outcome.CREATED
    dirty = [k for k, v in values.items() if getattr(touchpoint, k) != v]
    for key in dirty:
        setattr(touchpoint, key, values[key])
    if dirty:
        touchpoint.save(update_fields=dirty)
    return _combine(False, changed or bool(dirty))


def ingest_record(
    *, org: Organization, record: object, via: str, raw: Mapping[str, Any] | None = None
) -> Outcome:
    """Applies one parsed record; idempotent, any order, safe under concurrency.

    ``via`` is "webhook" or "sync". ``raw`` is the provider's own object, kept as provenance
    (without it, the record itself is stored). Raises ``MeetingNotYetKnown`` (and other
    transient errors) for the caller to retry; everything else it does happens in one
    transaction, so a failure leaves nothing half-written.
    """
    if via not in ("webhook", "sync"):
        raise ValueError(f"via must be 'webhook' or 'sync', not {via!r}")
    with transaction.atomic():
        handler = _HANDLERS.get(type(record))
        if handler is None:
            raise TypeError(f"no ingestion for {type(record).__name__}")
        _lock_object(org, record)
        return handler(org, record, raw)


def _object_key(record: object) -> str | None:
    if isinstance(record, calendly.InviteeEvent):
        return f"calendly:invitee:{record.invitee_uri}"
    if isinstance(record, typeform.FormResponse):
        return f"typeform:response:{record.token}"
    if isinstance(record, close.LeadOrContact):
        return f"close:{record.object_type}:{record.contact_id or record.lead_id}"
    if isinstance(record, close.Opportunity):
        return f"close:opportunity:{record.opportunity_id}"
    if isinstance(record, close.CallActivity):
        return f"close:call:{record.activity_id}"
    return None  # payments lock their own keys (apps/payments/services.py)


def _lock_object(org: Organization, record: object) -> None:
    """Serialises ingestions of one provider object, so "created" is reported exactly once and
    the before/after comparison sees no concurrent writer. Taken before any identifier lock of
    contact_resolve, in every ingestion alike, so the lock order is always the same."""
    key = _object_key(record)
    if key is None or connection.vendor != "postgresql":
        return
    digest = hashlib.blake2b(f"ingest:{org.pk}:{key}".encode(), digest_size=8).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)]
        )


# --- Close ------------------------------------------------------------------------------------

# A CRM call and the booked meeting it reports on are this close in time at most.
CALL_MEETING_WINDOW = timedelta(hours=3)


def _ingest_close_person(
    org: Organization, record: close.LeadOrContact, raw: Mapping[str, Any] | None
) -> Outcome:
    # A lead carries all of its people; each is resolved (Close wins names and lead status).
    people = record.contacts or (record.person,)
    contact = None
    created = False
    for person in people:
        result = contact_resolve(org=org, observation=person, lead_status=record.status_label)
        contact = contact or result.contact
        created = created or result.created
    external_id = record.lead_id if record.object_type == "lead" else record.contact_id
    _, changed = _provenance(
        org=org,
        provider="close",
        object_type=record.object_type,
        external_id=external_id or record.lead_id,
        payload=_payload(record, raw),
        contact=contact,
        occurred_at=record.occurred_at,
    )
    return _combine(created, changed)


def _contact_by_identifier(org: Organization, kind: str, value: str | None) -> Contact | None:
    if not value:
        return None
    identifier = (
        Identifier.objects.for_org(org)
        .filter(kind=kind, value=value, contact__merged_into__isnull=True)
        .select_related("contact")
        .first()
    )
    return identifier.contact if identifier else None


def _ingest_close_opportunity(
    org: Organization, record: close.Opportunity, raw: Mapping[str, Any] | None
) -> Outcome:
    contact = _contact_by_identifier(
        org, IdentifierKind.CLOSE_CONTACT, record.contact_id
    ) or _contact_by_identifier(org, IdentifierKind.CLOSE_LEAD, record.lead_id)
    if contact is None:
        # An opportunity names the lead only by id: the person is created from those ids and
        # filled in when the lead's own event (or the sync) arrives.
        contact = contact_resolve(org=org, observation=record.person).contact
    _, status = deal_upsert_from_crm(org=org, opportunity=record, contact=contact)
    _, changed = _provenance(
        org=org,
        provider="close",
        object_type="opportunity",
        external_id=record.opportunity_id,
        payload=_payload(record, raw),
        contact=contact,
        occurred_at=record.occurred_at or record.date_updated,
    )
    return _from_service(status, changed)


def _meeting_for_call(
    org: Organization, contact: Contact | None, at: datetime | None
) -> Meeting | None:
    if contact is None or at is None:
        return None
    candidates = (
        Meeting.objects.for_org(org)
        .filter(
            contact=contact,
            scheduled_at__gte=at - CALL_MEETING_WINDOW,
            scheduled_at__lte=at + CALL_MEETING_WINDOW,
        )
        .exclude(status__in=ENDED_STATUSES)
    )
    return min(candidates, key=lambda m: abs(m.scheduled_at - at), default=None)


def _ingest_close_call(
    org: Organization, record: close.CallActivity, raw: Mapping[str, Any] | None
) -> Outcome:
    contact = contact_resolve(org=org, observation=record.person).contact
    at = record.activity_at or record.date_created or record.occurred_at
    user = None
    if record.user_id:
        user = TeamMember.objects.for_org(org).filter(external_ids__close=record.user_id).first()
    meeting = _meeting_for_call(org, contact, at)
    values = {
        "contact": contact,
        "lead_external_id": record.lead_id,
        "user": user,
        "meeting": meeting,
        "occurred_at": at,
        "duration_seconds": max(record.duration or 0, 0),
        "direction": (record.direction or "")[:16],
        "disposition": (record.disposition or "")[:100],
        "outcome": record.outcome,
        "note": record.note or "",
    }
    lookup = {"org": org, "provider": "close", "external_id": record.activity_id}
    activity = CallActivity.objects.select_for_update().filter(**lookup).first()
    created = activity is None
    if created:
        try:
            with transaction.atomic():  # a savepoint: a concurrent insert wins, we update
                activity = CallActivity.objects.create(**lookup, **values)
        except IntegrityError:
            activity = CallActivity.objects.select_for_update().get(**lookup)
            created = False
    dirty = [k for k, v in values.items() if getattr(activity, k) != v]
    if not created and dirty:
        for key in dirty:
            setattr(activity, key, values[key])
        activity.save(update_fields=dirty)
    if meeting is not None and record.outcome in ("showed", "no_show"):
        meeting_set_crm_outcome(meeting=meeting, outcome=record.outcome)
    _, changed = _provenance(
        org=org,
        provider="close",
        object_type="activity.call",
        external_id=record.activity_id,
        payload=_payload(record, raw),
        contact=contact,
        occurred_at=at,
    )
    return _combine(created, changed or bool(dirty))


def _ingest_close_merge(
    org: Organization, record: close.LeadMerged, raw: Mapping[str, Any] | None
) -> Outcome:
    source = _contact_by_identifier(org, IdentifierKind.CLOSE_LEAD, record.source_lead_id)
    destination = _contact_by_identifier(org, IdentifierKind.CLOSE_LEAD, record.destination_lead_id)
    if source is not None and destination is not None and source != destination:
        # Close merged two leads we hold as two people: they are one person.
        contact_merge(
            org=org,
            winner=destination,
            loser=source,
            actor=None,
            reason=f"Close merged lead {record.source_lead_id} into {record.destination_lead_id}",
        )
        outcome = Outcome.UPDATED
    elif source is not None and destination is None:
        # The surviving lead id now names the person we knew by the merged one.
        both = PersonObservation(
            source="close",
            observed_at=record.occurred_at or record.person.observed_at,
            provider_ids=(
                ExternalId("close_lead", record.source_lead_id),
                ExternalId("close_lead", record.destination_lead_id),
            ),
        )
        contact_resolve(org=org, observation=both)
        outcome = Outcome.UPDATED
    else:
        outcome = Outcome.UNCHANGED
    _provenance(
        org=org,
        provider="close",
        object_type="lead.merged",
        external_id=f"{record.source_lead_id}>{record.destination_lead_id}",
        payload=_payload(record, raw),
        contact=destination or source,
        occurred_at=record.occurred_at,
    )
    return outcome


# --- money ------------------------------------------------------------------------------------

_RANK = {Outcome.UNCHANGED: 0, Outcome.SKIPPED: 0, Outcome.UPDATED: 1, Outcome.CREATED: 2}


def _from_service(status: str, changed: bool = False) -> Outcome:
    outcome = Outcome(status)
    if outcome is Outcome.UNCHANGED and changed:
        return Outcome.UPDATED
    return outcome


def _strongest(outcomes: list[Outcome]) -> Outcome:
    return max(outcomes, key=lambda o: _RANK[o], default=Outcome.SKIPPED)


def _money_contact(org: Organization, person: PersonObservation) -> Contact | None:
    # A payment without an email, phone or customer id cannot name anybody yet.
    if not (person.emails or person.phones or person.provider_ids):
        return None
    return contact_resolve(org=org, observation=person).contact


def _ingest_money(
    org: Organization,
    *,
    person: PersonObservation,
    payment: PaymentObservation | None,
    refunds: tuple[RefundObservation, ...],
) -> list[Outcome]:
    contact = _money_contact(org, payment.person if payment else person)
    outcomes = []
    if payment is not None:
        _, status = payment_upsert(org=org, observation=payment, contact=contact)
        outcomes.append(Outcome(status))
    for refund in refunds:
        _, status = refund_upsert(org=org, observation=refund, contact=contact)
        outcomes.append(Outcome(status))
    return outcomes


def _ingest_stripe(
    org: Organization, record: stripe.StripeEvent, raw: Mapping[str, Any] | None
) -> Outcome:
    outcomes = _ingest_money(
        org,
        person=record.person,
        payment=record.payment,
        refunds=record.refunds,
    )
    return _strongest(outcomes)


def _ingest_whop(
    org: Organization, record: whop.WhopEvent, raw: Mapping[str, Any] | None
) -> Outcome:
    outcomes = _ingest_money(
        org,
        person=record.person,
        payment=record.payment,
        refunds=(record.refund,) if record.refund else (),
    )
    if record.membership is not None:
        # No membership model yet: the person and the raw membership are kept.
        contact = _money_contact(org, record.person)
        _, changed = _provenance(
            org=org,
            provider="whop",
            object_type="membership",
            external_id=record.membership.membership_id,
            payload=_payload(record, raw),
            contact=contact,
            occurred_at=record.occurred_at,
        )
        outcomes.append(Outcome.UPDATED if changed else Outcome.UNCHANGED)
    return _strongest(outcomes)


_HANDLERS: dict[type, Callable[[Organization, Any, Mapping[str, Any] | None], Outcome]] = {
    calendly.InviteeEvent: _ingest_calendly,
    typeform.FormResponse: _ingest_typeform,
    close.LeadOrContact: _ingest_close_person,
    close.Opportunity: _ingest_close_opportunity,
    close.CallActivity: _ingest_close_call,
    close.LeadMerged: _ingest_close_merge,
    stripe.StripeEvent: _ingest_stripe,
    whop.WhopEvent: _ingest_whop,
}
