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
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import Q

from apps.contacts import suppression
from apps.contacts.lookups import contacts_holding
from apps.contacts.models import (
    Contact,
    IdentifierKind,
    SourceRecord,
    Touchpoint,
    TouchpointKind,
)
from apps.contacts.privacy import erased_contacts_scrub
from apps.contacts.services import (
    ObjectHeld,
    ResolveResult,
    SourceRecordRow,
    contact_merge,
    contact_resolve,
    contact_resolve_many,
    contacts_created_collect,
    namesakes_review_beside,
    namesakes_window,
    source_records_upsert_many,
)
from apps.contacts.signals import journey_rows_bulk_changed
from apps.deals.models import CallActivity, Deal
from apps.deals.services import deals_upsert_from_crm_many
from apps.meetings.models import Meeting
from apps.meetings.services import (
    ENDED_STATUSES,
    meeting_set_crm_outcome,
    meeting_upsert_from_invitee,
)
from apps.orgs.bulk import insert_rows
from apps.orgs.models import Organization, TeamMember
from apps.payments.models import Payment
from apps.payments.services import payment_upsert, refund_upsert
from attribution.sources import calendly, close, stripe, typeform, whop
from attribution.sources.records import (
    ExternalId,
    ParseError,
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
    "ingest_records",
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
        form_id = form_id if isinstance(form_id, str) else None  # a list is no settings key
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
    erased = _ERASED.get()
    if erased is not None and id(record) in erased.records:
        return {}
    if isinstance(raw, dict):
        # The provider's object as parsed from its JSON: stored as it is, it already compares
        # equal to what the database gives back (no copy: a page holds thousands).
        return raw
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
    row = SourceRecordRow(provider, object_type, external_id, payload, contact, occurred_at)
    return source_records_upsert_many(org=org, rows=[row])[0]


def _names_someone(person: PersonObservation) -> bool:
    # A record that names nobody (a bare no-show mark, a payment without an email, phone or
    # customer id) must not create an empty contact.
    return bool(person.emails or person.phones or person.provider_ids)


# Contacts resolved for a whole page before its records are applied (ingest_records), keyed
# by (id of the observation, lead status); consulted by _resolved.
_PRERESOLVED: ContextVar[dict[tuple[int, str | None], ResolveResult] | None] = ContextVar(
    "ingest_preresolved", default=None
)


def _resolved(
    org: Organization, person: PersonObservation, lead_status: str | None = None
) -> ResolveResult:
    erased = _ERASED.get()
    if erased is not None and id(person) in erased.people:
        return ResolveResult(contact=erased.people[id(person)], created=False, decision="erased")
    page = _PRERESOLVED.get()
    hit = page.get((id(person), lead_status)) if page is not None else None
    return hit or contact_resolve(
        org=org, observation=person, lead_status=lead_status, held=_held_person(person)
    )


def _resolve(org: Organization, person: PersonObservation) -> Contact | None:
    if not _names_someone(person):
        return None
    return _resolved(org, person).contact


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


def _touchpoint_values(contact: Contact, response: typeform.FormResponse) -> dict[str, Any]:
    utm = response.utm
    return {
        "contact_id": contact.pk,
        "kind": TouchpointKind.FORM,
        "occurred_at": response.submitted_at,
        "utm_source": (utm.source or "")[:200],
        "utm_medium": (utm.medium or "")[:200],
        "utm_campaign": (utm.campaign or "")[:200],
        "utm_content": (utm.content or "")[:200],
        "utm_term": (utm.term or "")[:200],
        "landing_url": (response.hidden.get("landing_url") or "")[:1000],
    }


def _ingest_typeform_many(
    org: Organization, items: Sequence[tuple[typeform.FormResponse, Mapping[str, Any] | None]]
) -> list[Outcome]:
    contacts = [_resolve(org, response.person) for response, _ in items]
    sources = source_records_upsert_many(
        org=org,
        rows=[
            SourceRecordRow(
                "typeform",
                "form_response",
                response.token,
                _payload(response, raw),
                contact,
                response.submitted_at,
            )
            for (response, raw), contact in zip(items, contacts, strict=True)
        ],
    )
    # The source record rows are locked by their upsert, so a sync and a webhook of the same
    # response cannot both add a touchpoint.
    existing = {
        touchpoint.source_record_id: touchpoint
        for touchpoint in Touchpoint.objects.for_org(org).filter(
            source_record_id__any=[source.pk for source, _ in sources]
        )
    }
    new, dirty, dirty_fields, outcomes = [], [], set(), []
    for (response, _), contact, (source, changed) in zip(items, contacts, sources, strict=True):
        if contact is None:
            outcomes.append(Outcome.SKIPPED)
            continue
        values = _touchpoint_values(contact, response)
        touchpoint = existing.get(source.pk)
        if touchpoint is None:
            new.append({"org_id": org.pk, "source_record_id": source.pk, **values})
            outcomes.append(Outcome.CREATED)
            continue
        fields = [k for k, v in values.items() if getattr(touchpoint, k) != v]
        for key in fields:
            setattr(touchpoint, key, values[key])
        if fields:
            dirty.append(touchpoint)
            dirty_fields.update(fields)
        outcomes.append(_combine(False, changed or bool(fields)))
    insert_rows(Touchpoint, new)
    if dirty:
        Touchpoint.objects.bulk_update(dirty, sorted(dirty_fields))
    if new or dirty:
        journey_rows_bulk_changed.send(
            sender=Touchpoint,
            org_id=org.pk,
            contact_ids=[row["contact_id"] for row in new] + [t.contact_id for t in dirty],
        )
    return outcomes


def ingest_record(
    *, org: Organization, record: object, via: str, raw: Mapping[str, Any] | None = None
) -> Outcome:
    """Applies one parsed record; idempotent, any order, safe under concurrency.

    ``via`` is "webhook" or "sync". ``raw`` is the provider's own object, kept as provenance
    (without it, the record itself is stored). Raises ``MeetingNotYetKnown`` (and other
    transient errors) for the caller to retry; everything else it does happens in one
    transaction, so a failure leaves nothing half-written.
    """
    _check_via(via)
    with transaction.atomic():
        _lock_objects(org, [record])
        # The webhook inbox holds the delivery being applied: it is erased too.
        with (
            _namesakes_side_by_side(org),
            _erased_people(org, [record], deliveries=True),
            _objects_held(org, [record]),
        ):
            return _apply(org, [(record, raw)])[0]


def ingest_records(
    *, org: Organization, items: Sequence[tuple[object, Mapping[str, Any] | None]], via: str
) -> list[Outcome | Exception]:
    """Applies a page of (record, raw) pairs in one transaction, with the rows and outcomes
    ``ingest_record`` gives one at a time.

    Contacts are resolved for the whole page in one pass, and form responses, Close leads and
    Close opportunities are written in bulk: a fixed number of queries per page instead of
    about twenty per record. A record the services refuse comes back as its exception, in its
    place, with nothing of it written; any other error rolls the page back and propagates.
    """
    _check_via(via)
    if not items:
        return []
    results: list[Outcome | Exception] = []
    records = [record for record, _ in items]
    with transaction.atomic():
        _lock_objects(org, records)
        with (
            _namesakes_side_by_side(org),
            _erased_people(org, records, deliveries=via == "webhook"),
            _objects_held(org, records),
        ):
            token = _PRERESOLVED.set(_preresolve(org, items))
            try:
                for run in _runs(items):
                    results += _apply_isolated(org, run)
            finally:
                _PRERESOLVED.reset(token)
    return results


_REFUSED = (ParseError, UnsupportedEvent, ValidationError)


def _check_via(via: str) -> None:
    if via not in ("webhook", "sync"):
        raise ValueError(f"via must be 'webhook' or 'sync', not {via!r}")


def _runs(items: Sequence[tuple[object, Mapping[str, Any] | None]]):
    """Consecutive records of one type, cut where an object repeats: a run is applied in bulk,
    and the second sighting of an object must see what the first one wrote."""
    run: list = []
    keys: set = set()
    for item in items:
        key = _object_key(item[0]) or id(item[0])
        if run and (type(item[0]) is not type(run[0][0]) or key in keys):
            yield run
            run, keys = [], set()
        run.append(item)
        keys.add(key)
    if run:
        yield run


def _apply(
    org: Organization, items: Sequence[tuple[object, Mapping[str, Any] | None]]
) -> list[Outcome]:
    """Applies records of one type, each object once (the caller holds their locks)."""
    kind = type(items[0][0])
    bulk = _BULK_HANDLERS.get(kind)
    if bulk is not None:
        return bulk(org, items)
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise TypeError(f"no ingestion for {kind.__name__}")
    return [handler(org, record, raw) for record, raw in items]


def _apply_isolated(
    org: Organization, items: Sequence[tuple[object, Mapping[str, Any] | None]]
) -> list[Outcome | Exception]:
    """A run in one savepoint; when something in it is refused, each record in its own."""
    try:
        with transaction.atomic():
            return _apply(org, items)
    except _REFUSED as exc:
        if len(items) == 1:
            return [exc]
    except (DataError, IntegrityError):
        if len(items) == 1:
            raise
    results: list[Outcome | Exception] = []
    for item in items:
        try:
            with transaction.atomic():
                results += _apply(org, [item])
        except _REFUSED as exc:
            results.append(exc)
    return results


def _persons(record: object) -> list[tuple[PersonObservation, str | None]]:
    """The people a record's handler resolves, and the lead status it resolves them with."""
    if isinstance(record, calendly.InviteeEvent):
        people = [record.person] if record.event_uri else []
    elif isinstance(record, typeform.FormResponse):
        people = [record.person]
    elif isinstance(record, close.LeadOrContact):
        return [(p, record.status_label) for p in record.contacts or (record.person,)]
    elif isinstance(record, close.CallActivity):
        return [(record.person, None)]
    elif isinstance(record, stripe.StripeEvent | whop.WhopEvent):
        people = [record.payment.person if record.payment else record.person]
        if isinstance(record, whop.WhopEvent) and record.membership is not None:
            people.append(record.person)
    else:
        # Opportunities look their contact up by Close id first; merges change identities.
        return []
    return [(p, None) for p in people if _names_someone(p)]


def _preresolve(
    org: Organization, items: Sequence[tuple[object, Mapping[str, Any] | None]]
) -> dict[tuple[int, str | None], ResolveResult]:
    """Every person the page names, resolved in one contact_resolve_many per lead status."""
    by_status: dict[str | None, list[PersonObservation]] = {}
    erased = _ERASED.get()
    for record, _ in items:
        if erased is not None and id(record) in erased.records:
            continue  # their erased contact, never resolved again (_resolved)
        for person, status in _persons(record):
            by_status.setdefault(status, []).append(person)
    if sum(map(len, by_status.values())) < 2:
        return {}  # one person: the handler's own contact_resolve is the same work
    resolved = {}
    try:
        with transaction.atomic():
            for status, people in by_status.items():
                results = contact_resolve_many(
                    org=org,
                    observations=people,
                    lead_status=status,
                    held=[_held_person(person) for person in people],
                )
                for person, result in zip(people, results, strict=True):
                    resolved[(id(person), status)] = result
    except _REFUSED:
        return {}  # each handler resolves its own, and the refused one fails alone
    return resolved


# --- people erased here -----------------------------------------------------------------------


@dataclasses.dataclass
class _Erased:
    """Records about provider objects held for people erased here (privacy.contact_erase), or
    about a person whose identifiers were suppressed then (contacts.suppression), with their
    erased contact: by record, and by each person a record names."""

    records: dict[int, Contact]
    people: dict[int, Contact]
    # What the records carry in clear, for the deliveries to erase; and every contact to scrub.
    tokens: set[str] = dataclasses.field(default_factory=set)
    contacts: set[int] = dataclasses.field(default_factory=set)


_ERASED: ContextVar[_Erased | None] = ContextVar("ingest_erased", default=None)


@contextmanager
def _erased_people(org: Organization, records: Sequence[object], *, deliveries: bool):
    """While records are applied: those about an object already held for an erased person
    go to that nameless contact, their person unresolved, their raw object unstored. A
    provider still holding the person must not bring them back; their calls, deals and money
    still move the org's numbers. What the handlers wrote about them is erased again after."""
    erased = _erased_for(org, records)
    token = _ERASED.set(erased)
    try:
        yield
    finally:
        _ERASED.reset(token)
    if erased is not None:
        erased_contacts_scrub(
            org=org, contact_ids=erased.contacts, deliveries=deliveries, tokens=erased.tokens
        )


def _object_lookups(record: object) -> list[tuple[str, str, str | None, str | None]]:
    """(stored model, provider, object type, external id) of the objects a record is about."""
    if isinstance(record, calendly.InviteeEvent):
        return [("meeting", "calendly", None, record.invitee_uri)]
    if isinstance(record, typeform.FormResponse):
        return [("source", "typeform", "form_response", record.token)]
    if isinstance(record, close.LeadOrContact):
        return [("source", "close", record.object_type, _close_person_id(record))]
    if isinstance(record, close.Opportunity):
        return [("deal", "close", None, record.opportunity_id)]
    if isinstance(record, close.CallActivity):
        return [("call", "close", None, record.activity_id)]
    if isinstance(record, stripe.StripeEvent | whop.WhopEvent):
        provider = "stripe" if isinstance(record, stripe.StripeEvent) else "whop"
        money = [record.payment] if record.payment else []
        money += record.refunds if isinstance(record, stripe.StripeEvent) else [record.refund]
        lookups = [
            ("payment", provider, None, key)
            for item in money
            if item is not None
            for key in (item.payment_key, item.charge_id, item.payment_intent_id)
        ]
        if isinstance(record, whop.WhopEvent) and record.membership is not None:
            lookups.append(("source", "whop", "membership", record.membership.membership_id))
        return lookups
    return []


def _erased_for(org: Organization, records: Sequence[object]) -> _Erased | None:
    if not suppression.forgets_anyone(org=org):
        return None  # the case of nearly every page
    lookups = [[lk for lk in _object_lookups(record) if lk[3]] for record in records]
    # Erased rows keep provider ids as keyed hashes: clear again until the scrub, so the
    # services below find and update them rather than create second rows.
    revealed = suppression.pseudonyms_reveal(
        org=org, external_ids={lk[3] for lks in lookups for lk in lks}
    )
    wanted: dict[tuple[str, str, str | None], set[str]] = {}
    for model, provider, object_type, external_id in (lk for lks in lookups for lk in lks):
        wanted.setdefault((model, provider, object_type), set()).add(external_id)
    owners: dict[tuple, int] = {}
    for (model, provider, object_type), ids in wanted.items():
        for external_id, contact_id in _object_owners(
            org, model, provider, object_type, ids, owner=ERASED_OWNER
        ):
            owners[(model, provider, object_type, external_id)] = contact_id
    contacts = Contact.objects.for_org(org).in_bulk(set(owners.values()))
    erased = _Erased({}, {}, contacts=revealed)
    for record, record_lookups in zip(records, lookups, strict=True):
        contact_id = next((owners[lk] for lk in record_lookups if lk in owners), None)
        if contact_id is None:
            continue
        erased.records[id(record)] = contacts[contact_id]
        for person, _ in _persons(record):
            erased.people[id(person)] = contacts[contact_id]
    _suppressed(org, records, erased)
    if not erased.records and not erased.contacts:
        return None
    for record, record_lookups in zip(records, lookups, strict=True):
        if id(record) in erased.records:
            erased.contacts.add(erased.records[id(record)].pk)
            erased.tokens |= {lk[3] for lk in record_lookups}
            for person in _people_of(record):
                erased.tokens |= suppression.observation_tokens(org=org, person=person)
    return erased


def _people_of(record: object) -> list[PersonObservation]:
    people = [person for person, _ in _persons(record)]
    if isinstance(record, close.Opportunity):
        people.append(record.person)
    return people


def _suppressed(org: Organization, records: Sequence[object], erased: _Erased) -> None:
    """Adds the records whose person was suppressed at erasure: a new object about them (a new
    form, a new booking, a new payment) goes to their nameless contact too."""
    pending = [record for record in records if id(record) not in erased.records]
    found = suppression.suppressed_contacts(
        org=org, people=[person for record in pending for person in _people_of(record)]
    )
    for record in pending:
        for person in _people_of(record):
            if id(person) in found:
                erased.records.setdefault(id(record), found[id(person)])
                erased.people[id(person)] = found[id(person)]


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


def _object_lock_keys(record: object) -> list[str]:
    """What ``_lock_objects`` locks for a record: its object, and the objects it finds its
    person by (_objects_held) that two records could reach by different keys: a payment by
    each id its events carry (so two events of one new payment cannot both find it missing),
    the two halves of a reschedule."""
    key = _object_key(record)
    if isinstance(record, calendly.InviteeEvent):
        others = (record.old_invitee_uri, record.new_invitee_uri)
        return [key, *(f"calendly:invitee:{uri}" for uri in others if uri)]
    return [key] if key is not None else _held_keys(record)


def _lock_objects(org: Organization, records: Sequence[object]) -> None:
    """Serialises ingestions of each provider object, so "created" is reported exactly once and
    the before/after comparisons see no concurrent writer. Taken before any identifier lock of
    contact_resolve, in every ingestion alike and in key order, so no two ingestions deadlock."""
    if connection.vendor != "postgresql":
        return
    keys = set()
    for record in records:
        for key in _object_lock_keys(record):
            digest = hashlib.blake2b(f"ingest:{org.pk}:{key}".encode(), digest_size=8).digest()
            keys.add(int.from_bytes(digest, "big", signed=True))
    if keys:
        with connection.cursor() as cursor:
            # unnest walks the sorted array in order, so the locks are taken in that order.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k", [sorted(keys)]
            )


# --- namesakes created side by side ---------------------------------------------------------------


@contextmanager
def _namesakes_side_by_side(org: Organization):
    """Two namesakes created at the same moment by two transactions (two webhooks, two
    providers' syncs, a webhook and a sync page) were weighed by neither resolve: each ran
    before the other committed. Once this transaction commits, the contacts it created are
    weighed against those of the transactions that ran beside it (``namesakes_review_beside``:
    a bounded query per commit, a MergeCandidate for an admin, never a merge)."""
    window = namesakes_window(org=org)
    with contacts_created_collect() as created:
        yield
    if window is not None and created:
        ids = list(created)
        # robust: the ingestion is committed by then, and a review that fails must not undo
        # its acknowledgement; what it missed an admin can still merge by hand.
        transaction.on_commit(lambda: _review_beside(org, ids, window), robust=True)


def _review_beside(org: Organization, contact_ids: list[int], window) -> None:
    from apps.integrations.sync import _retrying_lock_races

    # Its review rows lock the contacts they point to, which a running ingestion may hold.
    _retrying_lock_races(
        lambda: namesakes_review_beside(org=org, contact_ids=contact_ids, window=window)
    )


# --- objects already held -----------------------------------------------------------------------


@dataclasses.dataclass
class _Held:
    """The provider objects each record is about, and the contact one of them already has: by
    record, and by each person the record names (contacts.services.ObjectHeld)."""

    records: dict[int, ObjectHeld]
    people: dict[int, ObjectHeld]


_HELD: ContextVar[_Held | None] = ContextVar("ingest_held", default=None)


def _held_person(person: PersonObservation) -> ObjectHeld | None:
    held = _HELD.get()
    return held.people.get(id(person)) if held is not None else None


def _held_record(record: object) -> ObjectHeld | None:
    held = _HELD.get()
    return held.records.get(id(record)) if held is not None else None


@contextmanager
def _objects_held(org: Organization, records: Sequence[object]):
    """While records are applied, each person they name resolves to the contact their object
    already has (a payment by any of its ids, a booking by its invitee, a form response by its
    token, a Close lead, call or deal by its id, a Whop membership), before any identifier is
    matched: a person who gave nothing matchable (test@test.com, no email at all) is then one
    contact per object, not one per event. A fixed number of queries per page."""
    token = _HELD.set(_held_for(org, records))
    try:
        yield
    finally:
        _HELD.reset(token)


def _held_lookups(record: object) -> list[tuple[str, str, str | None, str]]:
    """(stored model, provider, object type, external id) of every object a record is about,
    cross references included: a Stripe event names its intent, charge and invoice; a Whop
    payment its membership; a Calendly reschedule the invitee it replaces or is replaced by (the
    same person rebooking). A scheduled event is not one: a group event has many invitees."""
    lookups = [lk for lk in _object_lookups(record) if lk[3]]
    if isinstance(record, calendly.InviteeEvent):
        for uri in (record.old_invitee_uri, record.new_invitee_uri):
            if uri:
                lookups.append(("meeting", "calendly", None, uri))
    elif isinstance(record, stripe.StripeEvent | whop.WhopEvent):
        provider = "stripe" if isinstance(record, stripe.StripeEvent) else "whop"
        payment = record.payment
        if payment is not None and payment.invoice_id:
            lookups.append(("payment", provider, None, payment.invoice_id))
        if isinstance(record, whop.WhopEvent) and payment is not None and payment.membership_id:
            lookups.append(("source", "whop", "membership", payment.membership_id))
    return list(dict.fromkeys(lookups))


def _held_key(lookup: tuple[str, str, str | None, str]) -> str:
    model, provider, object_type, external_id = lookup
    return f"{model}:{provider}:{object_type or ''}:{external_id}"


def _held_keys(record: object) -> list[str]:
    return [_held_key(lookup) for lookup in _held_lookups(record)]


def _held_for(org: Organization, records: Sequence[object]) -> _Held:
    lookups = [_held_lookups(record) for record in records]
    wanted: dict[tuple[str, str, str | None], set[str]] = {}
    for model, provider, object_type, external_id in (lk for lks in lookups for lk in lks):
        wanted.setdefault((model, provider, object_type), set()).add(external_id)
    owners: dict[str, int] = {}
    for (model, provider, object_type), ids in wanted.items():
        for external_id, contact_id in _object_owners(
            org, model, provider, object_type, ids, owner=LIVE_OWNER
        ):
            owners.setdefault(_held_key((model, provider, object_type, external_id)), contact_id)
    held = _Held({}, {})
    for record, record_lookups in zip(records, lookups, strict=True):
        if not record_lookups:
            continue
        keys = [_held_key(lookup) for lookup in record_lookups]
        contact_id = next((owners[key] for key in keys if key in owners), None)
        object_held = ObjectHeld(keys=frozenset(keys), contact_id=contact_id)
        held.records[id(record)] = object_held
        people = _persons(record)
        # A Close lead of several people is held by its first: the others are their own.
        if isinstance(record, close.LeadOrContact) and len(people) > 1:
            continue
        for person, _ in people:
            held.people[id(person)] = object_held
    return held


# Whose contact an object already held belongs to: an erased person's (their records stay
# nameless) or a live one's (one object, one contact). One lookup, two kinds of owner.
ERASED_OWNER = {"contact__erased_at__isnull": False}
LIVE_OWNER = {
    "contact__isnull": False,
    "contact__merged_into__isnull": True,
    "contact__erased_at__isnull": True,
}


def _object_owners(
    org: Organization,
    model: str,
    provider: str,
    object_type: str | None,
    ids: set[str],
    *,
    owner: dict,
) -> list[tuple[str, int]]:
    """(external id, contact id) of the objects among ``ids`` whose contact matches ``owner``."""
    ids = sorted(ids)  # one array parameter (field__any): a page's ids are a long IN list
    if model == "payment":
        rows = (
            Payment.objects.for_org(org)
            .filter(Q(external_id__any=ids) | Q(charge_id__any=ids), provider=provider, **owner)
            .values_list("external_id", "charge_id", "contact_id")
        )
        return [(key, contact) for ext, charge, contact in rows for key in (ext, charge) if key]
    if model == "source":
        queryset = SourceRecord.objects.for_org(org).filter(object_type=object_type)
    else:
        queryset = {"meeting": Meeting, "deal": Deal, "call": CallActivity}[model].objects.for_org(
            org
        )
    return list(
        queryset.filter(provider=provider, external_id__any=ids, **owner).values_list(
            "external_id", "contact_id"
        )
    )


# --- Close ------------------------------------------------------------------------------------

# A CRM call and the booked meeting it reports on are this close in time at most.
CALL_MEETING_WINDOW = timedelta(hours=3)


def _ingest_close_people_many(
    org: Organization, items: Sequence[tuple[close.LeadOrContact, Mapping[str, Any] | None]]
) -> list[Outcome]:
    created, rows = [], []
    for record, raw in items:
        # A lead carries all of its people; each is resolved (Close wins names and lead status).
        results = [
            _resolved(org, p, record.status_label) for p in record.contacts or (record.person,)
        ]
        created.append(any(result.created for result in results))
        rows.append(
            SourceRecordRow(
                "close",
                record.object_type,
                _close_person_id(record),
                _payload(record, raw),
                results[0].contact,
                record.occurred_at,
            )
        )
    sources = source_records_upsert_many(org=org, rows=rows)
    return [_combine(c, changed) for c, (_, changed) in zip(created, sources, strict=True)]


def _close_person_id(record: close.LeadOrContact) -> str:
    """The id a lead's or contact's provenance row is kept under."""
    external_id = record.lead_id if record.object_type == "lead" else record.contact_id
    return external_id or record.lead_id


def _contacts_by_close_ids(org: Organization, pairs: set[tuple[str, str]]) -> dict[tuple, Contact]:
    """(identifier kind, value) -> the live contact holding it, for many pairs in one query."""
    return contacts_holding(org=org, pairs={(kind, value) for kind, value in pairs if value})


def _ingest_close_opportunities_many(
    org: Organization, items: Sequence[tuple[close.Opportunity, Mapping[str, Any] | None]]
) -> list[Outcome]:
    def keys(record):
        return (
            (IdentifierKind.CLOSE_CONTACT, record.contact_id),
            (IdentifierKind.CLOSE_LEAD, record.lead_id),
        )

    known = _contacts_by_close_ids(org, {pair for record, _ in items for pair in keys(record)})
    erased = _ERASED.get()
    contacts = [
        (erased.records.get(id(record)) if erased is not None else None)
        or next((known[pair] for pair in keys(record) if pair in known), None)
        for record, _ in items
    ]
    # An opportunity names the lead only by id: the person is created from those ids and
    # filled in when the lead's own event (or the sync) arrives.
    unknown = [i for i, contact in enumerate(contacts) if contact is None]
    resolved = contact_resolve_many(
        org=org,
        observations=[items[i][0].person for i in unknown],
        held=[_held_record(items[i][0]) for i in unknown],
    )
    for i, result in zip(unknown, resolved, strict=True):
        contacts[i] = result.contact
    deals = deals_upsert_from_crm_many(
        org=org,
        items=[(record, contact) for (record, _), contact in zip(items, contacts, strict=True)],
    )
    sources = source_records_upsert_many(
        org=org,
        rows=[
            SourceRecordRow(
                "close",
                "opportunity",
                record.opportunity_id,
                _payload(record, raw),
                contact,
                record.occurred_at or record.date_updated,
            )
            for (record, raw), contact in zip(items, contacts, strict=True)
        ],
    )
    return [
        _from_service(status, changed)
        for (_, status), (_, changed) in zip(deals, sources, strict=True)
    ]


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
    contact = _resolved(org, record.person).contact
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
    known = _contacts_by_close_ids(
        org,
        {
            (IdentifierKind.CLOSE_LEAD, record.source_lead_id),
            (IdentifierKind.CLOSE_LEAD, record.destination_lead_id),
        },
    )
    source = known.get((IdentifierKind.CLOSE_LEAD, record.source_lead_id))
    destination = known.get((IdentifierKind.CLOSE_LEAD, record.destination_lead_id))
    if source is not None and destination is not None and source != destination:
        # Close merged two leads we hold as two people: they are one person. Contacts resolved
        # ahead for the page may be the one that goes: resolve the rest afresh.
        if _PRERESOLVED.get():
            _PRERESOLVED.get().clear()
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
    return _resolve(org, person)


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


# Record types applied a run at a time (one query per step for the whole run).
_BULK_HANDLERS: dict[type, Callable[[Organization, Sequence[tuple[Any, Any]]], list[Outcome]]] = {
    typeform.FormResponse: _ingest_typeform_many,
    close.LeadOrContact: _ingest_close_people_many,
    close.Opportunity: _ingest_close_opportunities_many,
}
# The others, one record at a time (with the page's contacts resolved ahead).
_HANDLERS: dict[type, Callable[[Organization, Any, Mapping[str, Any] | None], Outcome]] = {
    calendly.InviteeEvent: _ingest_calendly,
    close.CallActivity: _ingest_close_call,
    close.LeadMerged: _ingest_close_merge,
    stripe.StripeEvent: _ingest_stripe,
    whop.WhopEvent: _ingest_whop,
}
