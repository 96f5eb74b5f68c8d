"""Close CRM: webhook events and list-API objects (lead, contact, opportunity, call) -> records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from attribution.sources._fields import (
    currency_code,
    from_minor_units,
    items,
    mapping,
    optional_date,
    optional_datetime,
    parse_datetime,
    required,
    required_str,
    text,
    texts,
)
from attribution.sources.records import (
    ExternalId,
    ParseError,
    PersonObservation,
    UnsupportedEvent,
)

__all__ = [
    "CallActivity",
    "CallOutcome",
    "CloseRecord",
    "LeadMerged",
    "LeadOrContact",
    "NoShowRule",
    "Opportunity",
    "call_outcome",
    "parse_call",
    "parse_contact",
    "parse_lead",
    "parse_opportunity",
    "parse_webhook",
]

CallOutcome = Literal["showed", "no_show", "unknown"]


@dataclass(frozen=True, slots=True)
class NoShowRule:
    """How this org's reps record a no-show on a Close call (an org setting).

    Any matching criterion means no-show. "Showed" needs positive evidence: the custom field
    holding a value that is not a no-show value (or one of ``showed_values`` when given), or a
    disposition in ``showed_dispositions``. Anything else is unknown, so the KPI layer can fall
    back to the PCF or the org's assume-show setting.
    """

    custom_field: str | None = None  # "cf_call_outcome" or "custom.cf_call_outcome"
    values: tuple[str, ...] = ("No Show",)
    showed_values: tuple[str, ...] | None = None
    dispositions: tuple[str, ...] = ()
    showed_dispositions: tuple[str, ...] = ()
    note_keywords: tuple[str, ...] = ()


def _fold(value: object) -> str:
    return str(value).strip().casefold()


def call_outcome(
    *, rule: NoShowRule | None, custom: Mapping[str, Any], disposition: str | None, note: str | None
) -> CallOutcome:
    if rule is None:
        return "unknown"
    field_value = None
    if rule.custom_field:
        key = rule.custom_field.removeprefix("custom.")
        field_value = text(custom.get(key))
    no_show_values = {_fold(v) for v in rule.values}
    if field_value is not None and _fold(field_value) in no_show_values:
        return "no_show"
    if disposition and _fold(disposition) in {_fold(d) for d in rule.dispositions}:
        return "no_show"
    folded_note = _fold(note) if note else ""
    if folded_note and any(_fold(k) in folded_note for k in rule.note_keywords if k.strip()):
        return "no_show"
    if field_value is not None and (
        rule.showed_values is None or _fold(field_value) in {_fold(v) for v in rule.showed_values}
    ):
        return "showed"
    if disposition and _fold(disposition) in {_fold(d) for d in rule.showed_dispositions}:
        return "showed"
    return "unknown"


@dataclass(frozen=True, slots=True)
class LeadOrContact:
    """A lead or a contact created/updated/deleted. ``contacts`` holds every person of a lead."""

    object_type: Literal["lead", "contact"]
    action: str
    lead_id: str
    person: PersonObservation
    contacts: tuple[PersonObservation, ...]
    contact_id: str | None = None
    name: str | None = None
    company: str | None = None
    status_label: str | None = None
    owner_user_id: str | None = None
    event_id: str | None = None
    occurred_at: datetime | None = None
    changed_fields: tuple[str, ...] = ()
    custom: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Opportunity:
    opportunity_id: str
    lead_id: str
    action: str
    person: PersonObservation
    contact_id: str | None = None
    status_type: str | None = None  # active | won | lost
    status_label: str | None = None
    value: Decimal | None = None  # major units; Close sends cents
    currency: str | None = None
    value_period: str | None = None  # one_time | monthly | annual
    date_won: date | None = None
    confidence: int | None = None
    user_id: str | None = None  # the owner: the closer
    user_name: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None
    event_id: str | None = None
    occurred_at: datetime | None = None
    changed_fields: tuple[str, ...] = ()
    previous_status_type: str | None = None

    @property
    def is_won(self) -> bool:
        return self.status_type == "won" and self.action != "deleted"


@dataclass(frozen=True, slots=True)
class CallActivity:
    activity_id: str
    lead_id: str
    action: str
    outcome: CallOutcome
    person: PersonObservation
    contact_id: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    date_created: datetime | None = None
    activity_at: datetime | None = None
    duration: int | None = None  # seconds
    direction: str | None = None
    disposition: str | None = None
    status: str | None = None
    phone: str | None = None
    note: str | None = None
    custom: Mapping[str, Any] = field(default_factory=dict)
    event_id: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LeadMerged:
    source_lead_id: str
    destination_lead_id: str
    person: PersonObservation
    event_id: str | None = None
    occurred_at: datetime | None = None


CloseRecord = LeadOrContact | Opportunity | CallActivity | LeadMerged


def parse_webhook(
    envelope: Mapping[str, Any],
    *,
    no_show_rule: NoShowRule | None = None,
    lead_owner_field: str | None = None,
) -> CloseRecord:
    """``lead_owner_field``: the custom field holding a lead's owner (Close has no built-in one)."""
    envelope = mapping(envelope, where="close envelope")
    event = mapping(envelope.get("event"), where="close.event")
    where = "close.event"
    event_id = required_str(event, "id", where=where)
    object_type = required_str(event, "object_type", where=where)
    action = required_str(event, "action", where=where)
    occurred_at = parse_datetime(
        required(event, "date_created", where=where), where=f"{where}.date_created"
    )
    data = event.get("data") if isinstance(event.get("data"), Mapping) else {}
    # A deletion may carry the object only as previous_data.
    if not data and action == "deleted" and isinstance(event.get("previous_data"), Mapping):
        data = event["previous_data"]
    context = {
        "event_id": event_id,
        "action": action,
        "occurred_at": occurred_at,
        "changed_fields": texts(items(event.get("changed_fields"))),
    }

    if object_type == "lead" and action == "merged":
        meta = event.get("meta") if isinstance(event.get("meta"), Mapping) else {}
        source = required_str(meta, "merge_source_lead_id", where=f"{where}.meta")
        destination = required_str(meta, "merge_destination_lead_id", where=f"{where}.meta")
        return LeadMerged(
            source_lead_id=source,
            destination_lead_id=destination,
            event_id=event_id,
            occurred_at=occurred_at,
            person=PersonObservation(
                source="close",
                observed_at=occurred_at,
                provider_ids=(ExternalId("close_lead", destination),),
            ),
        )
    if object_type == "lead":
        return parse_lead(_with_lead_id(data, event), lead_owner_field=lead_owner_field, **context)
    if object_type == "contact":
        return parse_contact(_with_lead_id(data, event), **context)
    if object_type == "opportunity":
        previous = (
            event.get("previous_data") if isinstance(event.get("previous_data"), Mapping) else {}
        )
        return parse_opportunity(
            _with_lead_id(data, event),
            previous_status_type=text(previous.get("status_type")),
            **context,
        )
    if object_type == "activity.call":
        return parse_call(_with_lead_id(data, event), no_show_rule=no_show_rule, **context)
    raise UnsupportedEvent("close", f"{object_type}.{action}")


def _with_lead_id(data: Mapping[str, Any], event: Mapping[str, Any]) -> Mapping[str, Any]:
    # The envelope repeats lead_id; fall back to it when the object omits it (deletions).
    if (
        data.get("lead_id")
        or (data.get("id") or "").startswith("lead_")
        or not event.get("lead_id")
    ):
        return data
    return {**data, "lead_id": event["lead_id"]}


def parse_lead(
    lead: Mapping[str, Any],
    *,
    lead_owner_field: str | None = None,
    event_id: str | None = None,
    action: str = "synced",
    occurred_at: datetime | None = None,
    changed_fields: tuple[str, ...] = (),
) -> LeadOrContact:
    where = "close.lead"
    lead = mapping(lead, where=where)
    lead_id = required_str(lead, "id", where=where)
    observed_at = _observed_at(lead, occurred_at, where=where)
    custom = _custom(lead)
    company = text(lead.get("display_name")) or text(lead.get("name"))
    owner = text(custom.get(lead_owner_field.removeprefix("custom."))) if lead_owner_field else None
    contacts = tuple(
        _contact_person(c, lead_id=lead_id, company=company, observed_at=observed_at)
        for c in items(lead.get("contacts"))
        if isinstance(c, Mapping)
    )
    primary = (
        contacts[0]
        if contacts
        else PersonObservation(
            source="close",
            observed_at=observed_at,
            provider_ids=(ExternalId("close_lead", lead_id),),
            company=company,
        )
    )
    return LeadOrContact(
        object_type="lead",
        action=action,
        lead_id=lead_id,
        person=primary,
        contacts=contacts,
        name=company,
        company=company,
        status_label=text(lead.get("status_label")),
        owner_user_id=owner,
        event_id=event_id,
        occurred_at=occurred_at,
        changed_fields=changed_fields,
        custom=custom,
    )


def parse_contact(
    contact: Mapping[str, Any],
    *,
    event_id: str | None = None,
    action: str = "synced",
    occurred_at: datetime | None = None,
    changed_fields: tuple[str, ...] = (),
) -> LeadOrContact:
    where = "close.contact"
    contact = mapping(contact, where=where)
    contact_id = required_str(contact, "id", where=where)
    lead_id = required_str(contact, "lead_id", where=where)
    person = _contact_person(
        contact,
        lead_id=lead_id,
        company=None,
        observed_at=_observed_at(contact, occurred_at, where=where),
    )
    return LeadOrContact(
        object_type="contact",
        action=action,
        lead_id=lead_id,
        contact_id=contact_id,
        person=person,
        contacts=(person,),
        name=person.full_name,
        event_id=event_id,
        occurred_at=occurred_at,
        changed_fields=changed_fields,
        custom=_custom(contact),
    )


def parse_opportunity(
    opportunity: Mapping[str, Any],
    *,
    event_id: str | None = None,
    action: str = "synced",
    occurred_at: datetime | None = None,
    changed_fields: tuple[str, ...] = (),
    previous_status_type: str | None = None,
) -> Opportunity:
    where = "close.opportunity"
    opportunity = mapping(opportunity, where=where)
    opportunity_id = required_str(opportunity, "id", where=where)
    lead_id = required_str(opportunity, "lead_id", where=where)
    contact_id = text(opportunity.get("contact_id"))
    currency = (
        currency_code(opportunity.get("value_currency"), where=f"{where}.value_currency")
        if opportunity.get("value_currency")
        else None
    )
    raw_value = opportunity.get("value")
    value = None
    if raw_value is not None:
        if currency is None:
            raise ParseError(f"{where}.value_currency is missing")
        # Close stores value in cents whatever the currency, so the exponent is always 2.
        value = from_minor_units(raw_value, "USD", where=f"{where}.value")
    confidence = opportunity.get("confidence")
    return Opportunity(
        opportunity_id=opportunity_id,
        lead_id=lead_id,
        contact_id=contact_id,
        action=action,
        status_type=text(opportunity.get("status_type")),
        status_label=text(opportunity.get("status_label")),
        value=value,
        currency=currency,
        value_period=text(opportunity.get("value_period")),
        date_won=optional_date(opportunity.get("date_won"), where=f"{where}.date_won"),
        confidence=confidence if isinstance(confidence, int) else None,
        user_id=text(opportunity.get("user_id")),
        user_name=text(opportunity.get("user_name")),
        date_created=optional_datetime(
            opportunity.get("date_created"), where=f"{where}.date_created"
        ),
        date_updated=optional_datetime(
            opportunity.get("date_updated"), where=f"{where}.date_updated"
        ),
        event_id=event_id,
        occurred_at=occurred_at,
        changed_fields=changed_fields,
        previous_status_type=previous_status_type,
        person=PersonObservation(
            source="close",
            observed_at=_observed_at(opportunity, occurred_at, where=where),
            provider_ids=_lead_contact_ids(lead_id, contact_id),
        ),
    )


def parse_call(
    call: Mapping[str, Any],
    *,
    no_show_rule: NoShowRule | None = None,
    event_id: str | None = None,
    action: str = "synced",
    occurred_at: datetime | None = None,
    changed_fields: tuple[str, ...] = (),
) -> CallActivity:
    del changed_fields  # accepted for a uniform call from parse_webhook
    where = "close.activity.call"
    call = mapping(call, where=where)
    activity_id = required_str(call, "id", where=where)
    lead_id = required_str(call, "lead_id", where=where)
    contact_id = text(call.get("contact_id"))
    custom = _custom(call)
    disposition = text(call.get("disposition"))
    note = text(call.get("note")) or text(call.get("note_html"))
    duration = call.get("duration")
    phone = text(call.get("phone")) or text(call.get("remote_phone"))
    return CallActivity(
        activity_id=activity_id,
        lead_id=lead_id,
        contact_id=contact_id,
        action=action,
        outcome=call_outcome(rule=no_show_rule, custom=custom, disposition=disposition, note=note),
        user_id=text(call.get("user_id")),
        user_name=text(call.get("user_name")),
        date_created=optional_datetime(call.get("date_created"), where=f"{where}.date_created"),
        activity_at=optional_datetime(call.get("activity_at"), where=f"{where}.activity_at"),
        duration=int(duration)
        if isinstance(duration, int | float) and not isinstance(duration, bool)
        else None,
        direction=text(call.get("direction")),
        disposition=disposition,
        status=text(call.get("status")),
        phone=phone,
        note=note,
        custom=custom,
        event_id=event_id,
        occurred_at=occurred_at,
        person=PersonObservation(
            source="close",
            observed_at=_observed_at(call, occurred_at, where=where),
            provider_ids=_lead_contact_ids(lead_id, contact_id),
            phones=texts([phone]),
        ),
    )


def _custom(obj: Mapping[str, Any]) -> dict[str, Any]:
    # Close flattens custom values as "custom.<field id>"; some responses nest them instead.
    values = dict(obj["custom"]) if isinstance(obj.get("custom"), Mapping) else {}
    for key, value in obj.items():
        if key.startswith("custom."):
            values[key.removeprefix("custom.")] = value
    return values


def _lead_contact_ids(lead_id: str, contact_id: str | None) -> tuple[ExternalId, ...]:
    ids = [ExternalId("close_lead", lead_id)]
    if contact_id:
        ids.append(ExternalId("close_contact", contact_id))
    return tuple(ids)


def _observed_at(obj: Mapping[str, Any], occurred_at: datetime | None, *, where: str) -> datetime:
    if occurred_at is not None:
        return occurred_at
    for key in ("date_updated", "date_created"):
        value = optional_datetime(obj.get(key), where=f"{where}.{key}")
        if value is not None:
            return value
    raise ParseError(f"{where}.date_created is missing")


def _entries(values: object, key: str) -> Iterable[object]:
    for item in items(values):
        yield item.get(key) if isinstance(item, Mapping) else item


def _contact_person(
    contact: Mapping[str, Any], *, lead_id: str, company: str | None, observed_at: datetime
) -> PersonObservation:
    contact_id = text(contact.get("id"))
    name = text(contact.get("name")) or text(contact.get("display_name"))
    first, _, last = (name or "").partition(" ")
    return PersonObservation(
        source="close",
        observed_at=observed_at,
        provider_ids=_lead_contact_ids(lead_id, contact_id),
        emails=texts(_entries(contact.get("emails"), "email")),
        phones=texts(_entries(contact.get("phones"), "phone")),
        full_name=name,
        # Close keeps one name field; split only as a hint, full_name stays authoritative.
        first_name=text(first),
        last_name=text(last),
        company=company,
    )
