"""Calendly (API v2): invitee webhooks and the invitee objects of the list API -> InviteeEvent."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from attribution.sources._fields import (
    items,
    lookup,
    mapping,
    optional_datetime,
    required_str,
    text,
    texts,
)
from attribution.sources.records import (
    ExternalId,
    ParseError,
    PersonObservation,
    UnsupportedEvent,
    Utm,
)

__all__ = [
    "EVENT_KINDS",
    "Cancellation",
    "InviteeEvent",
    "InviteeEventKind",
    "NoShowMark",
    "QuestionAnswer",
    "idempotency_key",
    "parse_invitee",
    "parse_webhook",
]

InviteeEventKind = Literal["created", "canceled", "no_show_created", "no_show_deleted"]

EVENT_KINDS: Mapping[str, InviteeEventKind] = {
    "invitee.created": "created",
    "invitee.canceled": "canceled",
    "invitee_no_show.created": "no_show_created",
    "invitee_no_show.deleted": "no_show_deleted",
}
_EVENT_NAMES = {kind: name for name, kind in EVENT_KINDS.items()}


@dataclass(frozen=True, slots=True)
class Cancellation:
    canceled_by: str | None
    canceler_type: str | None  # "host" | "invitee"
    reason: str | None


@dataclass(frozen=True, slots=True)
class NoShowMark:
    uri: str | None
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class QuestionAnswer:
    question: str
    answer: str | None
    position: int | None


@dataclass(frozen=True, slots=True)
class InviteeEvent:
    kind: InviteeEventKind
    invitee_uri: str
    idempotency_key: str
    person: PersonObservation
    occurred_at: datetime
    event_uri: str | None = None
    event_type_uri: str | None = None
    event_name: str | None = None
    event_status: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    host_emails: tuple[str, ...] = ()
    host_user_uris: tuple[str, ...] = ()
    status: str | None = None  # the invitee's: active | canceled
    timezone: str | None = None
    rescheduled: bool = False
    old_invitee_uri: str | None = None
    new_invitee_uri: str | None = None
    cancellation: Cancellation | None = None
    utm: Utm = field(default_factory=Utm)
    questions_and_answers: tuple[QuestionAnswer, ...] = ()
    no_show: NoShowMark | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def is_reschedule_cancellation(self) -> bool:
        """The old half of a reschedule: not a real cancellation, and not counted as booked."""
        return self.kind == "canceled" and (self.rescheduled or self.new_invitee_uri is not None)

    @property
    def is_reschedule_booking(self) -> bool:
        return self.kind == "created" and self.old_invitee_uri is not None


def idempotency_key(
    *,
    event_name: str,
    invitee_uri: str,
    timestamps: tuple[str | None, ...],
) -> str:
    # Calendly sends no delivery id; a retry carries the same body, so hashing the event name,
    # the invitee and the body's own timestamps gives the same key for every retry of a delivery
    # and a different one for a later change (a cancel bumps updated_at, a no-show has its own
    # created_at). Hashed to keep a fixed length for a database column.
    material = "\x1f".join([event_name, invitee_uri, *(t or "" for t in timestamps)])
    return hashlib.sha256(material.encode()).hexdigest()


def parse_webhook(envelope: Mapping[str, Any]) -> InviteeEvent:
    envelope = mapping(envelope, where="calendly envelope")
    event_name = required_str(envelope, "event", where="calendly")
    kind = EVENT_KINDS.get(event_name)
    if kind is None:
        raise UnsupportedEvent("calendly", event_name)
    payload = mapping(envelope.get("payload"), where="calendly.payload")
    event = parse_invitee(
        payload,
        kind=kind,
        delivered_at=text(envelope.get("created_at")),
    )
    if event.event_uri is not None and event.start_time is None:
        # A webhook's invitee always carries its scheduled event's times (a list API invitee
        # may not). Without one, a cancel or no-show for a meeting we have not seen could
        # never be applied: refused now rather than retried until it fails.
        raise ParseError("calendly.payload.scheduled_event.start_time is missing")
    return event


def parse_invitee(
    invitee: Mapping[str, Any],
    *,
    kind: InviteeEventKind = "created",
    scheduled_event: Mapping[str, Any] | None = None,
    delivered_at: str | None = None,
) -> InviteeEvent:
    """Parse an invitee; from the list API pass the ``scheduled_event`` it was listed under.

    ``kind`` defaults to "created": the nightly sync sees current state, and an invitee whose
    ``status`` is canceled should be passed with kind="canceled".
    """
    invitee = mapping(invitee, where="calendly.payload")
    if kind.startswith("no_show") and "email" not in invitee and "invitee" in invitee:
        return _parse_bare_no_show(invitee, kind=kind, delivered_at=delivered_at)

    where = "calendly.payload"
    invitee_uri = required_str(invitee, "uri", where=where)
    event = invitee.get("scheduled_event") or scheduled_event
    event = event if isinstance(event, Mapping) else {}
    event_uri = text(event.get("uri")) or text(invitee.get("event"))
    if event_uri is None:
        raise ParseError(f"{where}.scheduled_event.uri is missing")

    created_at = optional_datetime(invitee.get("created_at"), where=f"{where}.created_at")
    updated_at = optional_datetime(invitee.get("updated_at"), where=f"{where}.updated_at")
    no_show = _no_show(invitee.get("no_show"), where=f"{where}.no_show")
    memberships = [m for m in items(event.get("event_memberships")) if isinstance(m, Mapping)]
    cancellation = invitee.get("cancellation")
    questions = tuple(_questions(invitee.get("questions_and_answers")))
    utm = Utm.from_mapping(
        invitee.get("tracking") if isinstance(invitee.get("tracking"), Mapping) else None
    )
    occurred_at = (
        optional_datetime(delivered_at, where="calendly.created_at")
        or (no_show.created_at if no_show and kind == "no_show_created" else None)
        or updated_at
        or created_at
    )
    if occurred_at is None:
        raise ParseError(f"{where}.created_at is missing")

    return InviteeEvent(
        kind=kind,
        invitee_uri=invitee_uri,
        idempotency_key=idempotency_key(
            event_name=_EVENT_NAMES[kind],
            invitee_uri=invitee_uri,
            timestamps=(
                delivered_at,
                text(invitee.get("created_at")),
                text(invitee.get("updated_at")),
                text(lookup(invitee, "no_show.created_at")),
            ),
        ),
        person=PersonObservation(
            source="calendly",
            observed_at=occurred_at,
            provider_ids=(ExternalId("calendly_invitee", invitee_uri),),
            emails=texts([invitee.get("email")]),
            phones=texts([invitee.get("text_reminder_number"), *_phone_answers(questions)]),
            first_name=text(invitee.get("first_name")),
            last_name=text(invitee.get("last_name")),
            full_name=text(invitee.get("name")),
            utm=utm,
        ),
        occurred_at=occurred_at,
        event_uri=event_uri,
        event_type_uri=text(event.get("event_type")),
        event_name=text(event.get("name")),
        event_status=text(event.get("status")),
        start_time=optional_datetime(
            event.get("start_time"), where=f"{where}.scheduled_event.start_time"
        ),
        end_time=optional_datetime(
            event.get("end_time"), where=f"{where}.scheduled_event.end_time"
        ),
        host_emails=texts(m.get("user_email") for m in memberships),
        host_user_uris=texts(m.get("user") for m in memberships),
        status=text(invitee.get("status")),
        timezone=text(invitee.get("timezone")),
        rescheduled=bool(invitee.get("rescheduled")),
        old_invitee_uri=text(invitee.get("old_invitee")),
        new_invitee_uri=text(invitee.get("new_invitee")),
        cancellation=(
            Cancellation(
                canceled_by=text(cancellation.get("canceled_by")),
                canceler_type=text(cancellation.get("canceler_type")),
                reason=text(cancellation.get("reason")),
            )
            if isinstance(cancellation, Mapping)
            else None
        ),
        utm=utm,
        questions_and_answers=questions,
        no_show=no_show,
        created_at=created_at,
        updated_at=updated_at,
    )


def _parse_bare_no_show(
    body: Mapping[str, Any], *, kind: InviteeEventKind, delivered_at: str | None
) -> InviteeEvent:
    # The documented-elsewhere shape {uri, invitee, created_at}: uri is the no-show's own.
    where = "calendly.payload"
    invitee_value = body.get("invitee")
    if isinstance(invitee_value, Mapping):
        return parse_invitee(invitee_value, kind=kind, delivered_at=delivered_at)
    invitee_uri = required_str(body, "invitee", where=where)
    mark_at = optional_datetime(body.get("created_at"), where=f"{where}.created_at")
    occurred_at = optional_datetime(delivered_at, where="calendly.created_at") or mark_at
    if occurred_at is None:
        raise ParseError(f"{where}.created_at is missing")
    return InviteeEvent(
        kind=kind,
        invitee_uri=invitee_uri,
        idempotency_key=idempotency_key(
            event_name=_EVENT_NAMES[kind],
            invitee_uri=invitee_uri,
            timestamps=(delivered_at, text(body.get("created_at"))),
        ),
        person=PersonObservation(
            source="calendly",
            observed_at=occurred_at,
            provider_ids=(ExternalId("calendly_invitee", invitee_uri),),
        ),
        occurred_at=occurred_at,
        no_show=NoShowMark(uri=text(body.get("uri")), created_at=mark_at),
    )


def _no_show(value: object, *, where: str) -> NoShowMark | None:
    if not isinstance(value, Mapping):
        return None
    return NoShowMark(
        uri=text(value.get("uri")),
        created_at=optional_datetime(value.get("created_at"), where=f"{where}.created_at"),
    )


def _questions(value: object):
    for item in items(value):
        if isinstance(item, Mapping) and text(item.get("question")):
            position = item.get("position")
            yield QuestionAnswer(
                question=str(item["question"]).strip(),
                answer=text(item.get("answer")),
                position=position if isinstance(position, int) else None,
            )


def _phone_answers(questions: tuple[QuestionAnswer, ...]) -> list[str | None]:
    # Booking forms usually ask for the phone as a custom question rather than SMS reminders.
    return [
        qa.answer
        for qa in questions
        if any(word in qa.question.lower() for word in ("phone", "mobile", "whatsapp"))
    ]
