"""Which source wins each field of a resolved contact.

- Close (the CRM) wins names and lead status: reps correct them there by hand.
- The earliest touch wins original source, the five UTMs and ``first_seen_at``, as one unit: mixing
  the source of one touch with the campaign of another would attribute to a touch that never was.
- Every email and phone is kept; the primary email is Close's if Close has one, else the first
  seen personal (non-role) email; the primary phone likewise.

:func:`survive` is a pure fold: applying the same observation twice changes nothing, so replays and
re-resolution are safe.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from attribution.identity.normalize import normalize_email, normalize_name, normalize_phone

__all__ = ["CRM_SOURCE", "UTM_FIELDS", "ContactFields", "FieldObservation", "survive"]

CRM_SOURCE = "close"
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")


@dataclass(frozen=True, slots=True)
class FieldObservation:
    """What one source record says about a person, at the time it was seen."""

    source: str  # typeform | calendly | close | stripe | whop | cash | ...
    observed_at: datetime | None = None
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    country: str | None = None  # default region for national phone numbers
    lead_status: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_content: str | None = None
    utm_term: str | None = None


@dataclass(frozen=True, slots=True)
class ContactFields:
    first_name: str = ""
    last_name: str = ""
    name_source: str | None = None
    lead_status: str | None = None
    lead_status_at: datetime | None = None
    original_source: str | None = None
    first_seen_at: datetime | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_content: str | None = None
    utm_term: str | None = None
    emails: tuple[str, ...] = ()  # normalized values, in the order first seen
    phones: tuple[str, ...] = ()  # E.164, in the order first seen
    primary_email: str | None = None
    primary_email_source: str | None = None
    primary_phone: str | None = None
    primary_phone_source: str | None = None


def survive(current: ContactFields | None, incoming: FieldObservation) -> ContactFields:
    """Fold one observation into a contact's fields."""
    fields = current or ContactFields()
    fields = _survive_name(fields, incoming)
    fields = _survive_lead_status(fields, incoming)
    fields = _survive_first_touch(fields, incoming)
    fields = _survive_emails(fields, incoming)
    return _survive_phones(fields, incoming)


def _is_crm(source: str | None) -> bool:
    return (source or "").strip().lower() == CRM_SOURCE


def _survive_name(fields: ContactFields, incoming: FieldObservation) -> ContactFields:
    name = normalize_name(
        first=incoming.first_name, last=incoming.last_name, full=incoming.full_name
    )
    if name.is_empty:
        return fields
    has_name = bool(fields.first_name or fields.last_name)
    # The CRM overwrites (a rep fixed a typo there); any other source only fills a blank.
    if _is_crm(incoming.source) or not has_name:
        return replace(
            fields,
            first_name=name.display_first,
            last_name=name.display_last,
            name_source=incoming.source,
        )
    return fields


def _survive_lead_status(fields: ContactFields, incoming: FieldObservation) -> ContactFields:
    if not _is_crm(incoming.source) or not incoming.lead_status:
        return fields
    # The latest CRM status wins; an undated one only fills a blank, so a replayed old webhook
    # cannot roll a lead back.
    at = incoming.observed_at
    if fields.lead_status is None or (
        at is not None and (fields.lead_status_at is None or at >= fields.lead_status_at)
    ):
        return replace(fields, lead_status=incoming.lead_status, lead_status_at=at)
    return fields


def _survive_first_touch(fields: ContactFields, incoming: FieldObservation) -> ContactFields:
    at = incoming.observed_at
    if at is None:
        # An undated observation only counts while nothing at all is known about the first touch.
        takes = fields.first_seen_at is None and fields.original_source is None
    else:
        takes = fields.first_seen_at is None or at < fields.first_seen_at
    if not takes:
        return fields
    return replace(
        fields,
        original_source=incoming.source,
        first_seen_at=at,
        utm_source=incoming.utm_source or None,
        utm_medium=incoming.utm_medium or None,
        utm_campaign=incoming.utm_campaign or None,
        utm_content=incoming.utm_content or None,
        utm_term=incoming.utm_term or None,
    )


def _survive_emails(fields: ContactFields, incoming: FieldObservation) -> ContactFields:
    emails = list(fields.emails)
    primary, primary_source = fields.primary_email, fields.primary_email_source
    incoming_is_crm = _is_crm(incoming.source)
    for raw in incoming.emails:
        email = normalize_email(raw)
        if email is None or email.is_junk:
            continue
        if email.value not in emails:
            emails.append(email.value)
        primary_is_role = primary is not None and _is_role(primary)
        takes_primary = (
            primary is None
            or (primary_is_role and not email.is_role)
            or (incoming_is_crm and not email.is_role and not _is_crm(primary_source))
        )
        if takes_primary and primary != email.value:
            primary, primary_source = email.value, incoming.source
    if (
        len(emails) == len(fields.emails)
        and primary == fields.primary_email
        and primary_source == fields.primary_email_source
    ):
        return fields  # nothing new (the list only grows): most records of a known person
    return replace(
        fields, emails=tuple(emails), primary_email=primary, primary_email_source=primary_source
    )


def _is_role(value: str) -> bool:
    email = normalize_email(value)
    return email is not None and email.is_role


def _survive_phones(fields: ContactFields, incoming: FieldObservation) -> ContactFields:
    phones = list(fields.phones)
    primary, primary_source = fields.primary_phone, fields.primary_phone_source
    incoming_is_crm = _is_crm(incoming.source)
    for raw in incoming.phones:
        phone = normalize_phone(raw, default_region=incoming.country or "US")
        if phone is None or phone.e164 is None:
            continue
        if phone.e164 not in phones:
            phones.append(phone.e164)
        if primary is None or (incoming_is_crm and not _is_crm(primary_source)):
            primary, primary_source = phone.e164, incoming.source
    if (
        len(phones) == len(fields.phones)
        and primary == fields.primary_phone
        and primary_source == fields.primary_phone_source
    ):
        return fields
    return replace(
        fields, phones=tuple(phones), primary_phone=primary, primary_phone_source=primary_source
    )
