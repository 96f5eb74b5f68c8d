"""Stripe: payment and refund events, and the same objects from the list API -> observations.

One purchase raises several events (payment_intent.succeeded, charge.succeeded, and for a
checkout checkout.session.completed; invoice.paid for an invoice). They all map to one
``payment_key`` (payment intent id, else charge id, else invoice id) so the payment is counted
once; refunds are keyed by their own ``re_`` id and point at the same payment key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from attribution.sources._fields import (
    currency_code,
    from_minor_units,
    id_of,
    items,
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
    ParseError,
    PaymentObservation,
    PersonObservation,
    RefundObservation,
    UnsupportedEvent,
)

__all__ = [
    "EVENT_TYPES",
    "StripeEvent",
    "parse_charge",
    "parse_checkout_session",
    "parse_event",
    "parse_invoice",
    "parse_payment_intent",
    "parse_refund",
    "payment_key",
]

EVENT_TYPES = frozenset(
    {
        "checkout.session.completed",
        "payment_intent.succeeded",
        "charge.succeeded",
        "charge.refunded",
        "refund.created",
        "refund.updated",
        "invoice.paid",
    }
)


@dataclass(frozen=True, slots=True)
class StripeEvent:
    """What one event says. ``payment`` is None when the event proves no cash (an unpaid or
    subscription-mode checkout, whose invoice.paid carries the payment instead)."""

    event_id: str
    event_type: str
    created: datetime
    person: PersonObservation
    payment: PaymentObservation | None = None
    refunds: tuple[RefundObservation, ...] = ()


def payment_key(
    *, payment_intent_id: str | None, charge_id: str | None, invoice_id: str | None
) -> str:
    key = payment_intent_id or charge_id or invoice_id
    if key is None:
        raise ParseError("stripe: no payment_intent, charge or invoice id to key the payment by")
    return key


def parse_event(event: Mapping[str, Any]) -> StripeEvent:
    where = "stripe.event"
    event = mapping(event, where=where)
    event_id = required_str(event, "id", where=where)
    event_type = required_str(event, "type", where=where)
    if event_type not in EVENT_TYPES:
        raise UnsupportedEvent("stripe", event_type)
    created = parse_datetime(required(event, "created", where=where), where=f"{where}.created")
    obj = mapping(lookup(event, "data.object"), where=f"{where}.data.object")
    context = {"event_id": event_id, "event_type": event_type, "event_created": created}

    if event_type == "checkout.session.completed":
        payment = parse_checkout_session(obj, **context)
        person = payment.person if payment else _checkout_person(obj, observed_at=created)
        return StripeEvent(event_id, event_type, created, person=person, payment=payment)
    if event_type == "payment_intent.succeeded":
        payment = parse_payment_intent(obj, **context)
        return StripeEvent(event_id, event_type, created, person=payment.person, payment=payment)
    if event_type in ("charge.succeeded", "charge.refunded"):
        payment = parse_charge(obj, **context)
        refunds = tuple(
            parse_refund(r, charge=obj, **context)
            for r in items(lookup(obj, "refunds.data"))
            if isinstance(r, Mapping)
        )
        return StripeEvent(
            event_id,
            event_type,
            created,
            person=payment.person if payment else _charge_person(obj, observed_at=created),
            payment=payment,
            refunds=refunds,
        )
    if event_type in ("refund.created", "refund.updated"):
        refund = parse_refund(obj, **context)
        return StripeEvent(event_id, event_type, created, person=refund.person, refunds=(refund,))
    payment = parse_invoice(obj, **context)
    person = payment.person if payment else _invoice_person(obj, observed_at=created)
    return StripeEvent(event_id, event_type, created, person=person, payment=payment)


def _currency(obj: Mapping[str, Any], where: str) -> str:
    return currency_code(required(obj, "currency", where=where), where=f"{where}.currency")


def _amount(obj: Mapping[str, Any], field: str, currency: str, where: str):
    return from_minor_units(required(obj, field, where=where), currency, where=f"{where}.{field}")


def _person(
    *,
    observed_at: datetime,
    customer_id: str | None,
    emails: list[object],
    name: object = None,
    phone: object = None,
    country: object = None,
) -> PersonObservation:
    return PersonObservation(
        source="stripe",
        observed_at=observed_at,
        provider_ids=(ExternalId("stripe_customer", customer_id),) if customer_id else (),
        emails=texts(emails),
        phones=texts([phone]),
        full_name=text(name),
        country=text(country),
    )


def _metadata(obj: Mapping[str, Any]) -> dict[str, str]:
    raw = obj.get("metadata")
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}


def _charge_person(charge: Mapping[str, Any], *, observed_at: datetime) -> PersonObservation:
    return _person(
        observed_at=observed_at,
        customer_id=id_of(charge.get("customer")),
        emails=[lookup(charge, "billing_details.email"), charge.get("receipt_email")],
        name=lookup(charge, "billing_details.name"),
        phone=lookup(charge, "billing_details.phone"),
        country=lookup(charge, "billing_details.address.country"),
    )


def parse_charge(
    charge: Mapping[str, Any],
    *,
    event_id: str | None = None,
    event_type: str | None = None,
    event_created: datetime | None = None,
) -> PaymentObservation | None:
    """None for a charge that moved no money (failed, or authorised but not captured)."""
    where = "stripe.charge"
    charge = mapping(charge, where=where)
    charge_id = required_str(charge, "id", where=where)
    currency = _currency(charge, where)
    paid_at = parse_datetime(required(charge, "created", where=where), where=f"{where}.created")
    if (
        charge.get("status") == "failed"
        or charge.get("paid") is False
        or charge.get("captured") is False
    ):
        return None
    captured = charge.get("amount_captured")
    amount_field = "amount_captured" if isinstance(captured, int) and captured > 0 else "amount"
    person = _charge_person(charge, observed_at=paid_at)
    payment_intent_id = id_of(charge.get("payment_intent"))
    invoice_id = id_of(charge.get("invoice"))
    refunded = charge.get("amount_refunded")
    return PaymentObservation(
        source="stripe",
        payment_key=payment_key(
            payment_intent_id=payment_intent_id, charge_id=charge_id, invoice_id=invoice_id
        ),
        amount=_amount(charge, amount_field, currency, where),
        currency=currency,
        paid_at=paid_at,
        status="succeeded",
        person=person,
        event_id=event_id,
        event_type=event_type,
        customer_id=id_of(charge.get("customer")),
        email=person.email,
        amount_refunded=(
            from_minor_units(refunded, currency, where=f"{where}.amount_refunded")
            if isinstance(refunded, int)
            else None
        ),
        charge_id=charge_id,
        payment_intent_id=payment_intent_id,
        invoice_id=invoice_id,
        metadata=_metadata(charge),
    )


def parse_payment_intent(
    intent: Mapping[str, Any],
    *,
    event_id: str | None = None,
    event_type: str | None = None,
    event_created: datetime | None = None,
) -> PaymentObservation:
    where = "stripe.payment_intent"
    intent = mapping(intent, where=where)
    intent_id = required_str(intent, "id", where=where)
    currency = _currency(intent, where)
    # A PaymentIntent has no paid time of its own; the success event's time is the closest.
    paid_at = event_created or parse_datetime(
        required(intent, "created", where=where), where=f"{where}.created"
    )
    received = intent.get("amount_received")
    amount_field = "amount_received" if isinstance(received, int) and received > 0 else "amount"
    latest_charge = intent.get("latest_charge")
    charge = latest_charge if isinstance(latest_charge, Mapping) else {}
    person = _person(
        observed_at=paid_at,
        customer_id=id_of(intent.get("customer")),
        emails=[lookup(charge, "billing_details.email"), intent.get("receipt_email")],
        name=lookup(charge, "billing_details.name"),
        phone=lookup(charge, "billing_details.phone"),
    )
    return PaymentObservation(
        source="stripe",
        payment_key=intent_id,
        amount=_amount(intent, amount_field, currency, where),
        currency=currency,
        paid_at=paid_at,
        status="succeeded" if intent.get("status") in (None, "succeeded") else "pending",
        person=person,
        event_id=event_id,
        event_type=event_type,
        customer_id=id_of(intent.get("customer")),
        email=person.email,
        charge_id=id_of(latest_charge),
        payment_intent_id=intent_id,
        invoice_id=id_of(intent.get("invoice")),
        metadata=_metadata(intent),
    )


def _checkout_person(session: Mapping[str, Any], *, observed_at: datetime) -> PersonObservation:
    return _person(
        observed_at=observed_at,
        customer_id=id_of(session.get("customer")),
        emails=[lookup(session, "customer_details.email"), session.get("customer_email")],
        name=lookup(session, "customer_details.name"),
        phone=lookup(session, "customer_details.phone"),
        country=lookup(session, "customer_details.address.country"),
    )


def parse_checkout_session(
    session: Mapping[str, Any],
    *,
    event_id: str | None = None,
    event_type: str | None = None,
    event_created: datetime | None = None,
) -> PaymentObservation | None:
    """None unless paid in payment mode.

    A subscription checkout has no payment intent of its own; its first invoice raises
    invoice.paid with the payment intent, and keying it here by the invoice id instead would
    count the same money twice.
    """
    where = "stripe.checkout.session"
    session = mapping(session, where=where)
    session_id = required_str(session, "id", where=where)
    if session.get("mode") not in (None, "payment") or session.get("payment_status") not in (
        None,
        "paid",
        "no_payment_required",
    ):
        return None
    intent_id = id_of(session.get("payment_intent"))
    if intent_id is None:
        return None  # nothing charged (a free order) or nothing to de-duplicate against
    currency = _currency(session, where)
    paid_at = event_created or parse_datetime(
        required(session, "created", where=where), where=f"{where}.created"
    )
    person = _checkout_person(session, observed_at=paid_at)
    return PaymentObservation(
        source="stripe",
        payment_key=intent_id,
        amount=_amount(session, "amount_total", currency, where),
        currency=currency,
        paid_at=paid_at,
        status="succeeded",
        person=person,
        event_id=event_id,
        event_type=event_type,
        customer_id=id_of(session.get("customer")),
        email=person.email,
        payment_intent_id=intent_id,
        invoice_id=id_of(session.get("invoice")),
        checkout_session_id=session_id,
        metadata=_metadata(session),
    )


def _invoice_payment_intent(invoice: Mapping[str, Any]) -> str | None:
    # Current API versions list payments on the invoice; older ones had payment_intent/charge.
    for entry in items(lookup(invoice, "payments.data")):
        if isinstance(entry, Mapping):
            intent = id_of(lookup(entry, "payment.payment_intent"))
            if intent:
                return intent
    return id_of(invoice.get("payment_intent"))


def _invoice_charge(invoice: Mapping[str, Any]) -> str | None:
    for entry in items(lookup(invoice, "payments.data")):
        if isinstance(entry, Mapping):
            charge = id_of(lookup(entry, "payment.charge"))
            if charge:
                return charge
    return id_of(invoice.get("charge"))


def _invoice_person(invoice: Mapping[str, Any], *, observed_at: datetime) -> PersonObservation:
    return _person(
        observed_at=observed_at,
        customer_id=id_of(invoice.get("customer")),
        emails=[invoice.get("customer_email")],
        name=invoice.get("customer_name"),
        phone=invoice.get("customer_phone"),
        country=lookup(invoice, "customer_address.country"),
    )


def parse_invoice(
    invoice: Mapping[str, Any],
    *,
    event_id: str | None = None,
    event_type: str | None = None,
    event_created: datetime | None = None,
) -> PaymentObservation | None:
    """None for an invoice that collected nothing (a trial, a 100% coupon)."""
    where = "stripe.invoice"
    invoice = mapping(invoice, where=where)
    invoice_id = required_str(invoice, "id", where=where)
    currency = _currency(invoice, where)
    amount = _amount(invoice, "amount_paid", currency, where)
    if amount == 0:
        return None
    paid_at = (
        optional_datetime(lookup(invoice, "status_transitions.paid_at"), where=f"{where}.paid_at")
        or event_created
        or parse_datetime(required(invoice, "created", where=where), where=f"{where}.created")
    )
    intent_id = _invoice_payment_intent(invoice)
    charge_id = _invoice_charge(invoice)
    person = _invoice_person(invoice, observed_at=paid_at)
    return PaymentObservation(
        source="stripe",
        payment_key=payment_key(
            payment_intent_id=intent_id, charge_id=charge_id, invoice_id=invoice_id
        ),
        amount=amount,
        currency=currency,
        paid_at=paid_at,
        status="succeeded",
        person=person,
        event_id=event_id,
        event_type=event_type,
        customer_id=id_of(invoice.get("customer")),
        email=person.email,
        charge_id=charge_id,
        payment_intent_id=intent_id,
        invoice_id=invoice_id,
        metadata=_metadata(invoice),
    )


def parse_refund(
    refund: Mapping[str, Any],
    *,
    charge: Mapping[str, Any] | None = None,
    event_id: str | None = None,
    event_type: str | None = None,
    event_created: datetime | None = None,
) -> RefundObservation:
    """A refund, keyed to its payment the same way the payment itself is keyed.

    ``charge``: the charge a refund was listed under (charge.refunded), which fills in ids and
    the customer a bare refund object lacks.
    """
    del event_created  # a refund carries its own creation time
    where = "stripe.refund"
    refund = mapping(refund, where=where)
    refund_id = required_str(refund, "id", where=where)
    charge = charge or {}
    charge_id = id_of(refund.get("charge")) or text(charge.get("id"))
    intent_id = id_of(refund.get("payment_intent")) or id_of(charge.get("payment_intent"))
    if charge_id is None and intent_id is None:
        raise ParseError(f"{where}.charge is missing")
    currency = _currency(refund, where)
    refunded_at = parse_datetime(required(refund, "created", where=where), where=f"{where}.created")
    expanded_charge = refund.get("charge") if isinstance(refund.get("charge"), Mapping) else charge
    person = (
        _charge_person(expanded_charge, observed_at=refunded_at)
        if expanded_charge
        else _person(observed_at=refunded_at, customer_id=None, emails=[])
    )
    return RefundObservation(
        source="stripe",
        refund_id=refund_id,
        payment_key=payment_key(payment_intent_id=intent_id, charge_id=charge_id, invoice_id=None),
        amount=_amount(refund, "amount", currency, where),
        currency=currency,
        refunded_at=refunded_at,
        status=text(refund.get("status")),
        person=person,
        event_id=event_id,
        event_type=event_type,
        charge_id=charge_id,
        payment_intent_id=intent_id,
        reason=text(refund.get("reason")),
    )
