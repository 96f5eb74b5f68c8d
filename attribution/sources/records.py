"""Typed records shared by the provider parsers.

Parsers turn a provider's webhook envelope, or the same object as its list API returns it, into
these frozen dataclasses. Values are kept as the provider sent them (stripped of whitespace):
normalising emails, phones and names is identity resolution's job, so the raw observation stays
available for provenance and re-resolution.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

__all__ = [
    "ExternalId",
    "ParseError",
    "PaymentObservation",
    "PaymentStatus",
    "PersonObservation",
    "Provider",
    "RefundObservation",
    "UnsupportedEvent",
    "Utm",
]

Provider = Literal["calendly", "typeform", "close", "stripe", "whop"]
PaymentStatus = Literal["succeeded", "pending", "failed", "refunded", "other"]


class ParseError(ValueError):
    """The body lacks something the provider always sends; the message names the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnsupportedEvent(Exception):
    """A well-formed event of a type we do not process: acknowledge it, do not 400 it.

    Deliberately not a ParseError, so a caller that maps ParseError to 400 does not reject an
    event a provider added or a subscription that is wider than needed.
    """

    def __init__(self, provider: Provider, event_type: str) -> None:
        super().__init__(f"{provider}: unsupported event type {event_type!r}")
        self.provider = provider
        self.event_type = event_type


@dataclass(frozen=True, slots=True)
class ExternalId:
    """An id a provider gives a person: kind is e.g. "close_lead", "stripe_customer"."""

    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class Utm:
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    content: str | None = None
    term: str | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, object] | None) -> Utm:
        values = values or {}

        def get(name: str) -> str | None:
            value = values.get(f"utm_{name}")
            if value is None:
                value = values.get(name) if name in ("source", "medium", "campaign") else None
            text = str(value).strip() if value is not None else ""
            return text or None

        return cls(
            source=get("source"),
            medium=get("medium"),
            campaign=get("campaign"),
            content=get("content"),
            term=get("term"),
        )

    @property
    def is_empty(self) -> bool:
        return not any((self.source, self.medium, self.campaign, self.content, self.term))


@dataclass(frozen=True, slots=True)
class PersonObservation:
    """What one source says about one person at one moment: the input of identity resolution."""

    source: Provider
    observed_at: datetime
    provider_ids: tuple[ExternalId, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    company: str | None = None
    country: str | None = None
    utm: Utm = field(default_factory=Utm)

    @property
    def email(self) -> str | None:
        return self.emails[0] if self.emails else None

    @property
    def phone(self) -> str | None:
        return self.phones[0] if self.phones else None

    def provider_id(self, kind: str) -> str | None:
        return next((i.value for i in self.provider_ids if i.kind == kind), None)


@dataclass(frozen=True, slots=True)
class PaymentObservation:
    """One payment as a provider reports it.

    ``payment_key`` is the de-duplication key: every event raised by one purchase carries the
    same key (Stripe: payment intent id, else charge id, else invoice id; Whop: payment id).
    ``amount_refunded`` is the provider's running total where it reports one without refund ids
    (Stripe charge.refunded without an expanded refund list, Whop payment.refunded).
    """

    source: Provider
    payment_key: str
    amount: Decimal
    currency: str
    paid_at: datetime
    status: PaymentStatus
    person: PersonObservation
    event_id: str | None = None
    event_type: str | None = None
    customer_id: str | None = None
    email: str | None = None
    amount_refunded: Decimal | None = None
    charge_id: str | None = None
    payment_intent_id: str | None = None
    invoice_id: str | None = None
    checkout_session_id: str | None = None
    membership_id: str | None = None
    product_id: str | None = None
    plan_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RefundObservation:
    source: Provider
    refund_id: str
    payment_key: str
    amount: Decimal
    currency: str
    refunded_at: datetime
    status: str | None
    person: PersonObservation
    event_id: str | None = None
    event_type: str | None = None
    charge_id: str | None = None
    payment_intent_id: str | None = None
    reason: str | None = None

    @property
    def succeeded(self) -> bool:
        # A refund without a status is counted: older payloads omit it for completed refunds.
        return self.status in (None, "succeeded", "success", "completed", "refunded")
