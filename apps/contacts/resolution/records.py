"""Observations -> the matcher's records and identifier rows; a contact <-> its profile and
surviving fields (the pure types of ``attribution.identity``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from apps.contacts.models import Contact, IdentifierKind
from attribution.identity.match import PersonRecord, Profile, RecordKeys, profile_of_known
from attribution.identity.normalize import normalize_email, normalize_phone
from attribution.identity.survivorship import ContactFields, FieldObservation
from attribution.sources.records import PersonObservation
from attribution.touch.channels import normalize_channel

# Provider ids that name a person (not one event of theirs): evidence for identity.
PERSON_ID_KINDS = frozenset(
    {
        IdentifierKind.CLOSE_LEAD,
        IdentifierKind.CLOSE_CONTACT,
        IdentifierKind.STRIPE_CUSTOMER,
        IdentifierKind.WHOP_USER,
    }
)
PROFILE_KINDS = PERSON_ID_KINDS | {IdentifierKind.EMAIL, IdentifierKind.PHONE}
# How many namesakes one name key may bring in as candidates; beyond that a name says too little.
NAME_CANDIDATE_CAP = 40


@dataclass(frozen=True)
class ResolveResult:
    contact: Contact
    created: bool
    decision: str  # "matched", "new", "object" (the contact its provider object already has)
    reasons: tuple[str, ...] = ()
    review_with: tuple[int, ...] = ()  # contact ids put in the review queue with this one


@dataclass(frozen=True)
class ObjectHeld:
    """The provider objects a record is about (a payment, a booking, a form response), as keys
    the caller chose, and the live contact one of them already belongs to, if any.

    A record about an object the org holds is that object's person, whatever identifiers it
    carries: it goes to ``contact_id`` before any identifier is matched. Records of one batch
    that share a key are one person too, so an object first seen twice in one page (a payment's
    intent and charge) makes one contact, also when nothing in them is matchable.
    """

    keys: frozenset[str] = frozenset()
    contact_id: int | None = None


@dataclass
class IdentifierValues:
    """The identifier rows one observation brings: (kind, value, raw)."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, kind: str, value: str, raw: str = "") -> None:
        if value and (kind, value) not in {(k, v) for k, v, _ in self.rows}:
            self.rows.append((kind, value, raw))


def observation_values(observation: PersonObservation, region: str) -> IdentifierValues:
    values = IdentifierValues()
    for raw in observation.emails:
        email = normalize_email(raw)
        if email is not None:
            values.add(IdentifierKind.EMAIL, email.value, raw)
            values.add(IdentifierKind.EMAIL_CANONICAL, email.canonical, raw)
    for raw in observation.phones:
        phone = normalize_phone(raw, default_region=observation.country or region)
        if phone is None:
            continue
        if phone.e164:
            values.add(IdentifierKind.PHONE, phone.e164, raw)
        else:
            # Kept so nothing the person gave us is lost, but never used to match.
            values.add(IdentifierKind.PHONE_RAW, phone.raw[:320], raw)
    for external in observation.provider_ids:
        if external.kind in IdentifierKind.values:
            values.add(external.kind, external.value)
    return values


def person_record(record_id: str, observation: PersonObservation, region: str) -> PersonRecord:
    return PersonRecord(
        record_id=record_id,
        source=observation.source,
        email=observation.email,
        phone=observation.phone,
        first_name=observation.first_name,
        last_name=observation.last_name,
        full_name=observation.full_name,
        company=observation.company,
        country=observation.country or region,
        created_at=observation.observed_at,
        utm_source=observation.utm.source,
        utm_campaign=observation.utm.campaign,
        provider_ids=tuple(
            (i.kind, i.value) for i in observation.provider_ids if i.kind in PERSON_ID_KINDS
        ),
    )


def shared_key(kind: str, value: str) -> str:
    # The spelling attribution.identity uses for values that must not count as evidence.
    if kind in (IdentifierKind.EMAIL, IdentifierKind.EMAIL_CANONICAL, IdentifierKind.PHONE):
        return value
    return f"{kind}:{value}"


def lookup_pairs(keys: RecordKeys) -> list[tuple[str, str]]:
    pairs = []
    if keys.email is not None:
        pairs += [
            (IdentifierKind.EMAIL, keys.email.value),
            (IdentifierKind.EMAIL_CANONICAL, keys.email.canonical),
        ]
    if keys.e164:
        pairs.append((IdentifierKind.PHONE, keys.e164))
    pairs += sorted(keys.provider_ids)
    return pairs


# --- contact state <-> pure types ----------------------------------------------------------


def fields_of(contact: Contact) -> ContactFields | None:
    stored = contact.field_sources or {}
    if not stored:
        return None
    data = dict(stored)
    for name in ("lead_status_at", "first_seen_at"):
        if data.get(name):
            data[name] = datetime.fromisoformat(data[name])
    for name in ("emails", "phones"):
        data[name] = tuple(data.get(name) or ())
    known = ContactFields.__dataclass_fields__
    return ContactFields(**{k: v for k, v in data.items() if k in known})


def store_fields(contact: Contact, fields: ContactFields) -> None:
    # A flat dataclass: a shallow copy is what asdict's deep recursion gives, ten times faster.
    data = {name: getattr(fields, name) for name in ContactFields.__dataclass_fields__}
    for name in ("lead_status_at", "first_seen_at"):
        if data.get(name):
            data[name] = data[name].isoformat()
    data["emails"], data["phones"] = list(fields.emails), list(fields.phones)
    contact.field_sources = data
    contact.first_name = (fields.first_name or "")[:150]
    contact.last_name = (fields.last_name or "")[:150]
    contact.lead_status = (fields.lead_status or "")[:100]
    contact.primary_email = fields.primary_email or ""
    contact.primary_phone = fields.primary_phone or ""
    contact.first_seen_at = fields.first_seen_at
    contact.original_source = normalize_channel(fields.utm_source or fields.original_source)[:200]
    contact.original_medium = (fields.utm_medium or "")[:200]
    contact.original_campaign = normalize_channel(fields.utm_campaign)[:200]
    contact.original_content = (fields.utm_content or "")[:200]
    contact.original_term = (fields.utm_term or "")[:200]


def field_observation(observation: PersonObservation, region: str, lead_status: str | None):
    return FieldObservation(
        source=observation.source,
        observed_at=observation.observed_at,
        first_name=observation.first_name,
        last_name=observation.last_name,
        full_name=observation.full_name,
        emails=tuple(observation.emails),
        phones=tuple(observation.phones),
        country=observation.country or region,
        lead_status=lead_status,
        utm_source=observation.utm.source,
        utm_medium=observation.utm.medium,
        utm_campaign=observation.utm.campaign,
        utm_content=observation.utm.content,
        utm_term=observation.utm.term,
    )


def profile_of(contact: Contact, identifiers: Iterable[tuple[str, str]]) -> Profile:
    return cached_profile(
        contact.first_name,
        contact.last_name,
        contact.company,
        contact.original_campaign,
        contact.first_seen_at,
        tuple(sorted(identifiers)),
    )


# A profile is a pure function of these values, so a cache keyed by them can never be stale;
# a backfill meets the same popular namesakes page after page.
@lru_cache(maxsize=8_000)
def cached_profile(first_name, last_name, company, campaign, first_seen_at, identifiers) -> Profile:
    emails, phones, provider = [], [], []
    for kind, value in identifiers:
        if kind == IdentifierKind.EMAIL:
            emails.append(value)
        elif kind == IdentifierKind.PHONE:
            phones.append(value)  # stored only as normalize_phone's E.164
        elif kind in PERSON_ID_KINDS:
            provider.append((kind, value))
    return profile_of_known(
        first_name=first_name,
        last_name=last_name,
        company=company,
        campaign=campaign,
        seen_at=first_seen_at,
        emails=emails,
        phones=phones,
        provider_ids=provider,
    )
