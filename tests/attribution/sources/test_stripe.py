from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from attribution.sources import stripe
from attribution.sources.records import ParseError, UnsupportedEvent
from tests.attribution.sources.conftest import load_fixture

PAID_AT = datetime.fromtimestamp(1772906400, tz=UTC)


def _checkout(**overrides) -> dict:
    session = {
        "id": "cs_1",
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "amount_total": 250000,
        "currency": "usd",
        "created": 1772906300,
        "customer": "cus_1",
        "customer_details": {
            "email": "buyer@acme.test",
            "name": "Ada L",
            "phone": "+1555",
            "address": {"country": "US"},
        },
        "payment_intent": "pi_SA0000",
        "invoice": None,
    }
    session.update(overrides)
    return {
        "id": "evt_cs_1",
        "type": "checkout.session.completed",
        "created": 1772906401,
        "data": {"object": session},
    }


def _invoice(**overrides) -> dict:
    invoice = {
        "id": "in_1",
        "object": "invoice",
        "amount_paid": 99900,
        "currency": "eur",
        "created": 1772900000,
        "customer": "cus_2",
        "customer_email": "subscriber@acme.test",
        "customer_name": "Sub Scriber",
        "status_transitions": {"paid_at": 1772906500},
        "payments": {
            "data": [{"payment": {"type": "payment_intent", "payment_intent": "pi_sub_1"}}]
        },
    }
    invoice.update(overrides)
    return {
        "id": "evt_in_1",
        "type": "invoice.paid",
        "created": 1772906501,
        "data": {"object": invoice},
    }


def test_every_event_of_one_purchase_maps_to_the_same_payment_key() -> None:
    events = [
        stripe.parse_event(load_fixture("stripe/payment_intent.succeeded")),
        stripe.parse_event(load_fixture("stripe/charge.succeeded")),
        stripe.parse_event(_checkout()),
    ]
    payments = [e.payment for e in events]

    assert all(p is not None for p in payments)
    assert {p.payment_key for p in payments if p} == {"pi_SA0000"}
    assert {p.amount for p in payments if p} == {Decimal("2500.00")}
    assert {p.currency for p in payments if p} == {"USD"}


def test_it_parses_a_charge() -> None:
    event = stripe.parse_event(load_fixture("stripe/charge.succeeded"))
    payment = event.payment

    assert payment is not None
    assert event.event_id == "evt_chach_SA0000"
    assert payment.charge_id == "ch_SA0000"
    assert payment.payment_intent_id == "pi_SA0000"
    assert payment.paid_at == PAID_AT
    assert payment.email == "sample0.person@gmail.com"
    assert payment.status == "succeeded"
    assert payment.amount_refunded == Decimal("0.00")
    assert event.person.full_name == "Gus Marsh0"


def test_a_payment_intent_reads_the_receipt_email() -> None:
    payment = stripe.parse_event(load_fixture("stripe/payment_intent.succeeded")).payment

    assert payment is not None
    assert payment.email == "sample0.person@gmail.com"
    assert payment.charge_id == "ch_SA0000"  # latest_charge


def test_a_checkout_reads_the_customer_details() -> None:
    event = stripe.parse_event(_checkout())

    assert event.payment is not None
    assert event.payment.checkout_session_id == "cs_1"
    assert event.payment.customer_id == "cus_1"
    assert event.person.email == "buyer@acme.test"
    assert event.person.country == "US"
    assert event.person.provider_id("stripe_customer") == "cus_1"


@pytest.mark.parametrize(
    "overrides",
    [
        {"mode": "subscription", "payment_intent": None, "invoice": "in_1"},
        {"payment_status": "unpaid"},
    ],
)
def test_a_checkout_that_is_not_a_paid_one_off_carries_no_payment(overrides) -> None:
    event = stripe.parse_event(_checkout(**overrides))

    assert event.payment is None
    assert event.person.email == "buyer@acme.test"  # still an identity observation


def test_a_charge_without_a_payment_intent_is_keyed_by_the_charge() -> None:
    body = load_fixture("stripe/charge.succeeded")
    body["data"]["object"]["payment_intent"] = None

    payment = stripe.parse_event(body).payment

    assert payment is not None
    assert payment.payment_key == "ch_SA0000"


def test_an_uncaptured_charge_is_no_payment() -> None:
    body = load_fixture("stripe/charge.succeeded")
    body["data"]["object"]["captured"] = False

    event = stripe.parse_event(body)

    assert event.payment is None
    assert event.person.email == "sample0.person@gmail.com"


def test_an_invoice_is_keyed_by_the_payment_intent_that_paid_it() -> None:
    payment = stripe.parse_event(_invoice()).payment

    assert payment is not None
    assert payment.payment_key == "pi_sub_1"
    assert payment.invoice_id == "in_1"
    assert payment.amount == Decimal("999.00")
    assert payment.currency == "EUR"
    assert payment.paid_at == datetime.fromtimestamp(1772906500, tz=UTC)
    assert payment.email == "subscriber@acme.test"


def test_an_older_invoice_with_a_charge_is_keyed_by_it() -> None:
    payment = stripe.parse_event(_invoice(payments=None, charge="ch_old")).payment

    assert payment is not None
    assert payment.payment_key == "ch_old"


def test_an_invoice_paid_out_of_band_is_keyed_by_the_invoice() -> None:
    payment = stripe.parse_event(_invoice(payments={"data": []})).payment

    assert payment is not None
    assert payment.payment_key == "in_1"


def test_a_zero_invoice_is_no_payment() -> None:
    assert stripe.parse_event(_invoice(amount_paid=0)).payment is None


@pytest.mark.parametrize(
    ("currency", "minor", "major"),
    [
        ("jpy", 5000, Decimal("5000")),
        ("krw", 120000, Decimal("120000")),
        ("usd", 5000, Decimal("50.00")),
        ("kwd", 12345, Decimal("12.345")),
    ],
)
def test_amounts_respect_the_currency_minor_unit(currency: str, minor: int, major: Decimal) -> None:
    body = load_fixture("stripe/charge.succeeded")
    body["data"]["object"].update(
        currency=currency, amount=minor, amount_captured=minor, amount_refunded=0
    )

    payment = stripe.parse_event(body).payment

    assert payment is not None
    assert payment.amount == major
    assert payment.currency == currency.upper()


def test_it_parses_a_refund_created_event() -> None:
    event = stripe.parse_event(load_fixture("stripe/refund.created"))

    assert event.payment is None
    (refund,) = event.refunds
    assert refund.refund_id == "re_SA0000"
    assert refund.payment_key == "pi_SA0000"
    assert refund.amount == Decimal("500.00")
    assert refund.refunded_at == datetime.fromtimestamp(1772989200, tz=UTC)
    assert refund.succeeded


def test_a_refund_arriving_before_its_payment_points_at_the_same_key() -> None:
    refund = stripe.parse_event(load_fixture("stripe/refund.created")).refunds[0]
    payment = stripe.parse_event(load_fixture("stripe/charge.succeeded")).payment

    assert payment is not None
    assert refund.payment_key == payment.payment_key


def test_charge_refunded_without_a_refund_list_reports_the_running_total_only() -> None:
    # The refund itself comes with refund.created; inventing one here would count it twice.
    event = stripe.parse_event(load_fixture("stripe/charge.refunded"))

    assert event.refunds == ()
    assert event.payment is not None
    assert event.payment.payment_key == "pi_SA0000"
    assert event.payment.amount_refunded == Decimal("500.00")


def test_charge_refunded_with_several_refunds_yields_each_with_its_own_id() -> None:
    body = load_fixture("stripe/charge.refunded")
    body["data"]["object"]["amount_refunded"] = 80000
    body["data"]["object"]["refunds"] = {
        "object": "list",
        "data": [
            {
                "id": "re_1",
                "amount": 50000,
                "currency": "usd",
                "created": 1772989200,
                "status": "succeeded",
                "charge": "ch_SA0000",
            },
            {
                "id": "re_2",
                "amount": 30000,
                "currency": "usd",
                "created": 1772990000,
                "status": "pending",
                "charge": "ch_SA0000",
            },
        ],
    }

    refunds = stripe.parse_event(body).refunds

    assert [(r.refund_id, r.amount, r.payment_key) for r in refunds] == [
        ("re_1", Decimal("500.00"), "pi_SA0000"),
        ("re_2", Decimal("300.00"), "pi_SA0000"),
    ]
    assert refunds[0].person.email == "sample0.person@gmail.com"
    assert not refunds[1].succeeded


def test_a_refund_of_a_charge_without_intent_is_keyed_by_the_charge() -> None:
    body = load_fixture("stripe/refund.created")
    body["data"]["object"]["payment_intent"] = None

    assert stripe.parse_event(body).refunds[0].payment_key == "ch_SA0000"


def test_a_jpy_refund_is_not_divided_by_100() -> None:
    body = load_fixture("stripe/refund.created")
    body["data"]["object"].update(currency="jpy", amount=3000)

    assert stripe.parse_event(body).refunds[0].amount == Decimal("3000")


@pytest.mark.parametrize(
    ("fixture_name", "path", "field"),
    [
        ("stripe/charge.succeeded", ("id",), "stripe.event.id"),
        ("stripe/charge.succeeded", ("type",), "stripe.event.type"),
        ("stripe/charge.succeeded", ("data",), "stripe.event.data.object"),
        ("stripe/charge.succeeded", ("data", "object", "currency"), "stripe.charge.currency"),
        ("stripe/charge.succeeded", ("data", "object", "amount"), "stripe.charge.amount"),
        ("stripe/payment_intent.succeeded", ("data", "object", "id"), "stripe.payment_intent.id"),
        ("stripe/refund.created", ("data", "object", "amount"), "stripe.refund.amount"),
    ],
)
def test_it_names_the_missing_field(fixture_name: str, path: tuple[str, ...], field: str) -> None:
    body = load_fixture(fixture_name)
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    if field == "stripe.charge.amount":
        del body["data"]["object"]["amount_captured"]

    with pytest.raises(ParseError, match=field.replace(".", r"\.")):
        stripe.parse_event(body)


def test_a_refund_without_charge_or_intent_is_a_parse_error() -> None:
    body = load_fixture("stripe/refund.created")
    body["data"]["object"].update(charge=None, payment_intent=None)

    with pytest.raises(ParseError, match="charge"):
        stripe.parse_event(body)


def test_other_event_types_are_unsupported() -> None:
    body = load_fixture("stripe/charge.succeeded")
    body["type"] = "customer.created"

    with pytest.raises(UnsupportedEvent):
        stripe.parse_event(body)


def test_list_api_objects_parse_without_an_event() -> None:
    charge = load_fixture("stripe/charge.succeeded")["data"]["object"]
    intent = load_fixture("stripe/payment_intent.succeeded")["data"]["object"]

    assert stripe.parse_charge(charge).payment_key == "pi_SA0000"  # type: ignore[union-attr]
    assert stripe.parse_payment_intent(intent).paid_at == PAID_AT
