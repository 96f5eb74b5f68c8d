from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from attribution.sources import whop
from attribution.sources.records import ParseError, UnsupportedEvent
from tests.attribution.sources.conftest import load_fixture


def test_it_parses_a_payment_succeeded_event() -> None:
    event = whop.parse_webhook(load_fixture("whop/payment.succeeded"))
    payment = event.payment

    assert event.event_id == "msg_2yQm8Xk1sample"
    assert event.company_id == "biz_sampleCo"
    assert payment is not None
    assert payment.payment_key == "pay_sample0001"
    assert payment.amount == Decimal("1497.00")
    assert payment.currency == "USD"
    assert payment.paid_at == datetime(2026, 3, 14, 16, 2, 9, tzinfo=UTC)
    assert payment.status == "succeeded"
    assert payment.email == "sample7.person@outlook.com"
    assert payment.customer_id == "user_sampleBuyer"
    assert (payment.membership_id, payment.product_id, payment.plan_id) == (
        "mem_sample0001",
        "prod_sampleCoaching",
        "plan_samplePIF",
    )
    assert event.person.full_name == "Gus Quinn7"
    assert event.person.provider_id("whop_user") == "user_sampleBuyer"


def test_amounts_are_major_units_without_float_noise() -> None:
    body = load_fixture("whop/payment.succeeded")
    body["data"]["total"] = 10.43

    payment = whop.parse_webhook(body).payment

    assert payment is not None
    assert payment.amount == Decimal("10.43")
    assert str(payment.amount) == "10.43"


def test_a_yen_amount_keeps_no_decimals() -> None:
    body = load_fixture("whop/payment.succeeded")
    body["data"].update(total=15000, currency="jpy")

    payment = whop.parse_webhook(body).payment

    assert payment is not None
    assert (payment.amount, payment.currency) == (Decimal("15000"), "JPY")


@pytest.mark.parametrize(
    ("event_type", "data_status", "expected"),
    [
        ("payment.failed", "open", "failed"),
        ("payment.pending", "open", "pending"),
        ("payment.created", "paid", "succeeded"),
        ("payment.created", "open", "pending"),
        ("payment.refunded", "refunded", "refunded"),
    ],
)
def test_payment_statuses(event_type: str, data_status: str, expected: str) -> None:
    body = load_fixture("whop/payment.succeeded")
    body["type"] = event_type
    body["data"]["status"] = data_status

    payment = whop.parse_webhook(body).payment

    assert payment is not None
    assert payment.status == expected
    assert payment.payment_key == "pay_sample0001"


def test_a_payment_without_the_email_permission_still_identifies_the_user() -> None:
    body = load_fixture("whop/payment.succeeded")
    body["data"]["user"]["email"] = None

    event = whop.parse_webhook(body)

    assert event.person.emails == ()
    assert event.person.provider_id("whop_user") == "user_sampleBuyer"


def test_it_parses_a_refund() -> None:
    event = whop.parse_webhook(load_fixture("whop/refund.created"))
    refund = event.refund

    assert refund is not None
    assert refund.refund_id == "rfnd_sample0001"
    assert refund.payment_key == "pay_sample0001"
    assert refund.amount == Decimal("250.50")
    assert refund.currency == "USD"
    assert refund.refunded_at == datetime(2026, 3, 20, 10, 15, tzinfo=UTC)
    assert refund.succeeded
    assert event.person.email == "sample7.person@outlook.com"


def test_a_refund_update_is_the_same_refund() -> None:
    created = whop.parse_webhook(load_fixture("whop/refund.created")).refund
    body = load_fixture("whop/refund.created")
    body.update(id="msg_other", type="refund.updated")
    updated = whop.parse_webhook(body).refund

    assert created is not None and updated is not None
    assert (created.refund_id, created.payment_key) == (updated.refund_id, updated.payment_key)


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("membership.activated", "activated"),
        ("membership.went_valid", "activated"),
        ("membership.deactivated", "deactivated"),
    ],
)
def test_it_parses_membership_events_under_old_and_new_names(event_type: str, kind: str) -> None:
    body = load_fixture("whop/membership.activated")
    body["type"] = event_type

    event = whop.parse_webhook(body)

    assert event.membership is not None
    assert event.membership.kind == kind
    assert event.membership.membership_id == "mem_sample0001"
    assert event.membership.product_id == "prod_sampleCoaching"
    assert event.person.email == "sample7.person@outlook.com"


def test_an_invoice_is_keyed_by_the_payment_that_settled_it() -> None:
    body = {
        "id": "msg_inv",
        "type": "invoice.paid",
        "timestamp": "2026-03-14T16:05:00Z",
        "data": {
            "id": "inv_1",
            "status": "paid",
            "currency": "usd",
            "total": 500,
            "payment": {"id": "pay_sample0001"},
            "user": {"id": "user_sampleBuyer", "email": "sample7.person@outlook.com"},
        },
    }

    payment = whop.parse_webhook(body).payment

    assert payment is not None
    assert payment.payment_key == "pay_sample0001"
    assert payment.invoice_id == "inv_1"
    assert payment.amount == Decimal("500.00")
    assert payment.paid_at == datetime(2026, 3, 14, 16, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fixture_name", "path", "field"),
    [
        ("whop/payment.succeeded", ("id",), "whop.id"),
        ("whop/payment.succeeded", ("type",), "whop.type"),
        ("whop/payment.succeeded", ("timestamp",), "whop.timestamp"),
        ("whop/payment.succeeded", ("data",), "whop.data"),
        ("whop/payment.succeeded", ("data", "id"), "whop.payment.id"),
        ("whop/payment.succeeded", ("data", "currency"), "whop.payment.currency"),
        ("whop/refund.created", ("data", "amount"), "whop.refund.amount"),
        ("whop/refund.created", ("data", "payment"), "whop.refund.payment.id"),
        ("whop/membership.activated", ("data", "id"), "whop.membership.id"),
    ],
)
def test_it_names_the_missing_field(fixture_name: str, path: tuple[str, ...], field: str) -> None:
    body = load_fixture(fixture_name)
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]

    with pytest.raises(ParseError, match=field.replace(".", r"\.")):
        whop.parse_webhook(body)


def test_other_event_types_are_unsupported() -> None:
    body = load_fixture("whop/payment.succeeded")
    body["type"] = "app.installed"

    with pytest.raises(UnsupportedEvent):
        whop.parse_webhook(body)


def test_a_list_api_payment_parses_without_an_envelope() -> None:
    data = load_fixture("whop/payment.succeeded")["data"]

    payment = whop.parse_payment(data)

    assert payment.payment_key == "pay_sample0001"
    assert payment.status == "succeeded"
    assert payment.event_id is None
