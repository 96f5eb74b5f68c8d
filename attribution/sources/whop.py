"""Whop (API v1, Standard Webhooks): payments, refunds, memberships, invoices -> records.

Whop amounts are decimals in major units. The envelope ``id`` equals the ``webhook-id`` header
and is the delivery's idempotency key; a payment is keyed by its own ``pay_`` id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from attribution.sources._fields import (
    currency_code,
    from_major_units,
    id_of,
    lookup,
    mapping,
    optional_datetime,
    parse_datetime,
    required,
    required_str,
    text,
    texts,
)
from attribution.sources.records import (
    ExternalId,
    PaymentObservation,
    PaymentStatus,
    PersonObservation,
    RefundObservation,
    UnsupportedEvent,
)

__all__ = [
    "EVENT_TYPES",
    "MembershipEvent",
    "WhopEvent",
    "parse_membership",
    "parse_payment",
    "parse_refund",
    "parse_webhook",
]

_PAYMENT_EVENTS: Mapping[str, PaymentStatus | None] = {
    "payment.succeeded": "succeeded",
    "payment.failed": "failed",
    "payment.pending": "pending",
    "payment.created": None,  # the data's own status decides
    "payment.refunded": None,  # older name: the payment, with refunded_amount
    "invoice.paid": "succeeded",
}
_MEMBERSHIP_EVENTS: Mapping[str, Literal["activated", "deactivated"]] = {
    "membership.activated": "activated",
    "membership.went_valid": "activated",  # older name
    "membership.deactivated": "deactivated",
    "membership.went_invalid": "deactivated",  # older name
}
_REFUND_EVENTS = frozenset({"refund.created", "refund.updated"})
EVENT_TYPES = frozenset({*_PAYMENT_EVENTS, *_MEMBERSHIP_EVENTS, *_REFUND_EVENTS})

_STATUS: Mapping[str, PaymentStatus] = {
    "paid": "succeeded",
    "succeeded": "succeeded",
    "pending": "pending",
    "open": "pending",
    "draft": "pending",
    "processing": "pending",
    "failed": "failed",
    "void": "failed",
    "uncollectible": "failed",
    "refunded": "refunded",
    "partially_refunded": "succeeded",  # money was kept; the refund is counted on its own
}


@dataclass(frozen=True, slots=True)
class MembershipEvent:
    membership_id: str
    kind: Literal["activated", "deactivated"]
    person: PersonObservation
    status: str | None = None
    product_id: str | None = None
    plan_id: str | None = None
    canceled_at: datetime | None = None
    cancellation_reason: str | None = None


@dataclass(frozen=True, slots=True)
class WhopEvent:
    event_id: str
    event_type: str
    occurred_at: datetime
    person: PersonObservation
    company_id: str | None = None
    payment: PaymentObservation | None = None
    refund: RefundObservation | None = None
    membership: MembershipEvent | None = None


def parse_webhook(envelope: Mapping[str, Any]) -> WhopEvent:
    where = "whop"
    envelope = mapping(envelope, where="whop envelope")
    event_id = required_str(envelope, "id", where=where)
    event_type = required_str(envelope, "type", where=where)
    if event_type not in EVENT_TYPES:
        raise UnsupportedEvent("whop", event_type)
    occurred_at = parse_datetime(
        required(envelope, "timestamp", where=where), where=f"{where}.timestamp"
    )
    data = mapping(envelope.get("data"), where=f"{where}.data")
    base = {"event_id": event_id, "event_type": event_type, "occurred_at": occurred_at}
    company_id = text(envelope.get("company_id"))

    if event_type in _REFUND_EVENTS:
        refund = parse_refund(data, **base)
        return WhopEvent(**base, company_id=company_id, person=refund.person, refund=refund)
    if event_type in _MEMBERSHIP_EVENTS:
        membership = parse_membership(
            data, kind=_MEMBERSHIP_EVENTS[event_type], observed_at=occurred_at
        )
        return WhopEvent(
            **base, company_id=company_id, person=membership.person, membership=membership
        )
    payment = parse_payment(data, status=_PAYMENT_EVENTS[event_type], **base)
    return WhopEvent(**base, company_id=company_id, person=payment.person, payment=payment)


def _user_person(user: object, *, observed_at: datetime) -> PersonObservation:
    user = user if isinstance(user, Mapping) else {}
    user_id = text(user.get("id"))
    return PersonObservation(
        source="whop",
        observed_at=observed_at,
        provider_ids=(ExternalId("whop_user", user_id),) if user_id else (),
        # The email is null unless the app holds the member-email permission.
        emails=texts([user.get("email")]),
        full_name=text(user.get("name")),
    )


def _metadata(obj: Mapping[str, Any]) -> dict[str, str]:
    raw = obj.get("metadata")
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}


def parse_payment(
    payment: Mapping[str, Any],
    *,
    status: PaymentStatus | None = None,
    event_id: str | None = None,
    event_type: str | None = None,
    occurred_at: datetime | None = None,
) -> PaymentObservation:
    """A payment object (webhook data or the /payments list), or an invoice (invoice.paid).

    An invoice is keyed by the payment that settled it when it names one, so invoice.paid and
    that payment's payment.succeeded count once; otherwise by the invoice id.
    """
    is_invoice = event_type == "invoice.paid"
    where = "whop.invoice" if is_invoice else "whop.payment"
    payment = mapping(payment, where=where)
    own_id = required_str(payment, "id", where=where)
    settled_by = id_of(payment.get("payment")) or text(payment.get("payment_id"))
    key = (settled_by or own_id) if is_invoice else own_id
    currency = currency_code(required(payment, "currency", where=where), where=f"{where}.currency")
    amount_field = next(
        (f for f in ("total", "amount_paid", "amount", "subtotal") if payment.get(f) is not None),
        "total",
    )
    amount = from_major_units(
        required(payment, amount_field, where=where), currency, where=f"{where}.{amount_field}"
    )
    paid_at = (
        optional_datetime(payment.get("paid_at"), where=f"{where}.paid_at")
        or occurred_at
        or parse_datetime(required(payment, "created_at", where=where), where=f"{where}.created_at")
    )
    refunded = payment.get("refunded_amount")
    user = payment.get("user") or payment.get("member") or lookup(payment, "membership.user")
    person = _user_person(user, observed_at=paid_at)
    resolved_status = status or _STATUS.get(str(payment.get("status") or "").lower(), "other")
    return PaymentObservation(
        source="whop",
        payment_key=key,
        amount=amount,
        currency=currency,
        paid_at=paid_at,
        status=resolved_status,
        person=person,
        event_id=event_id,
        event_type=event_type,
        customer_id=person.provider_id("whop_user"),
        email=person.email,
        amount_refunded=(
            from_major_units(refunded, currency, where=f"{where}.refunded_amount")
            if refunded is not None
            else None
        ),
        invoice_id=own_id if is_invoice else None,
        membership_id=id_of(payment.get("membership")),
        product_id=id_of(payment.get("product")),
        plan_id=id_of(payment.get("plan")) or id_of(payment.get("current_plan")),
        metadata=_metadata(payment),
    )


def parse_refund(
    refund: Mapping[str, Any],
    *,
    event_id: str | None = None,
    event_type: str | None = None,
    occurred_at: datetime | None = None,
) -> RefundObservation:
    where = "whop.refund"
    refund = mapping(refund, where=where)
    refund_id = required_str(refund, "id", where=where)
    payment = refund.get("payment")
    payment_id = id_of(payment) or text(refund.get("payment_id"))
    if payment_id is None:
        required(refund, "payment.id", where=where)
    currency = currency_code(
        refund.get("currency") or lookup(refund, "payment.currency"), where=f"{where}.currency"
    )
    refunded_at = (
        optional_datetime(refund.get("created_at"), where=f"{where}.created_at") or occurred_at
    )
    if refunded_at is None:
        required(refund, "created_at", where=where)
    assert refunded_at is not None  # required() raised otherwise
    user = lookup(refund, "payment.user") or refund.get("user")
    return RefundObservation(
        source="whop",
        refund_id=refund_id,
        payment_key=str(payment_id),
        amount=from_major_units(
            required(refund, "amount", where=where), currency, where=f"{where}.amount"
        ),
        currency=currency,
        refunded_at=refunded_at,
        status=text(refund.get("status")),
        person=_user_person(user, observed_at=refunded_at),
        event_id=event_id,
        event_type=event_type,
        reason=text(refund.get("reason")),
    )


def parse_membership(
    membership: Mapping[str, Any],
    *,
    kind: Literal["activated", "deactivated"],
    observed_at: datetime,
) -> MembershipEvent:
    where = "whop.membership"
    membership = mapping(membership, where=where)
    return MembershipEvent(
        membership_id=required_str(membership, "id", where=where),
        kind=kind,
        status=text(membership.get("status")),
        product_id=id_of(membership.get("product")),
        plan_id=id_of(membership.get("plan")),
        canceled_at=optional_datetime(membership.get("canceled_at"), where=f"{where}.canceled_at"),
        cancellation_reason=text(membership.get("cancellation_reason")),
        person=_user_person(membership.get("user"), observed_at=observed_at),
    )
