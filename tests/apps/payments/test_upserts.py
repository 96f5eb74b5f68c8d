"""Acceptance 1: every money path lands once, whatever the order and however often it is told.

Provider payloads are the shared fixtures, parsed by the real parsers in attribution/sources.
"""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection

from apps.payments.models import Payment, Refund
from apps.payments.services import payment_upsert, refund_upsert
from attribution.sources import stripe, whop
from tests.attribution.sources.conftest import load_fixture
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def _checkout_completed() -> dict:
    """checkout.session.completed for the same purchase as the payment intent fixture."""
    intent = load_fixture("stripe/payment_intent.succeeded")["data"]["object"]
    return {
        "id": "evt_cs_SA0000",
        "object": "event",
        "type": "checkout.session.completed",
        "created": 1772906460,
        "data": {
            "object": {
                "id": "cs_test_SA0000",
                "object": "checkout.session",
                "mode": "payment",
                "payment_status": "paid",
                "status": "complete",
                "amount_total": intent["amount"],
                "currency": intent["currency"],
                "created": 1772906300,
                "payment_intent": intent["id"],
                "customer": None,
                "customer_details": {"email": intent["receipt_email"], "name": "Gus Marsh0"},
                "metadata": {},
            }
        },
    }


def stripe_events(*names):
    for name in names:
        payload = _checkout_completed() if name == "checkout" else load_fixture(f"stripe/{name}")
        yield stripe.parse_event(payload)


def ingest_stripe(org, contact, events):
    outcomes = []
    for event in events:
        if event.payment is not None:
            outcomes.append(payment_upsert(org=org, observation=event.payment, contact=contact)[1])
        for refund in event.refunds:
            outcomes.append(refund_upsert(org=org, observation=refund, contact=contact)[1])
    return outcomes


def test_checkout_intent_and_charge_of_one_purchase_make_one_payment(team_a):
    contact = ContactFactory(org=team_a.org)
    outcomes = ingest_stripe(
        team_a.org,
        contact,
        stripe_events("checkout", "payment_intent.succeeded", "charge.succeeded"),
    )
    payment = Payment.objects.get(org=team_a.org)
    assert outcomes[0] == "created"
    assert payment.external_id == "pi_SA0000"
    assert payment.charge_id == "ch_SA0000"
    assert payment.amount == Decimal("2500.00") and payment.currency == "USD"
    assert payment.status == Payment.Status.SUCCEEDED
    # Dated by the charge, the earliest of the three.
    assert payment.paid_at == datetime.fromtimestamp(1772906400, tz=UTC)
    assert payment.contact == contact
    # The same three again, in another order: nothing changes.
    again = ingest_stripe(
        team_a.org,
        contact,
        stripe_events("charge.succeeded", "checkout", "payment_intent.succeeded"),
    )
    assert again == ["unchanged"] * 3
    assert Payment.objects.filter(org=team_a.org).count() == 1


def test_the_same_payment_in_two_orgs_is_two_rows(team_a, team_b):
    for team in (team_a, team_b):
        ingest_stripe(team.org, None, stripe_events("payment_intent.succeeded"))
    assert Payment.objects.filter(external_id="pi_SA0000").count() == 2


def test_two_partial_refunds_are_rows_of_their_own(team_a):
    org = team_a.org
    ingest_stripe(org, None, stripe_events("charge.succeeded"))
    first = load_fixture("stripe/refund.created")
    second = load_fixture("stripe/refund.created")
    second["id"] = "evt_refre_SA0001"
    second["data"]["object"].update(id="re_SA0001", amount=30050, created=1773075600)
    for payload in (first, second, first):
        for refund in stripe.parse_event(payload).refunds:
            refund_upsert(org=org, observation=refund, contact=None)
    payment = Payment.objects.get(org=org)
    refunds = list(payment.refunds.order_by("refunded_at"))
    assert [r.external_id for r in refunds] == ["re_SA0000", "re_SA0001"]
    assert [r.amount for r in refunds] == [Decimal("500.00"), Decimal("300.50")]
    assert refunds[0].refunded_at == datetime.fromtimestamp(1772989200, tz=UTC)
    assert payment.amount - sum(r.amount for r in refunds) == Decimal("1699.50")


def test_a_refund_before_its_payment_waits_then_attaches(team_a):
    org = team_a.org
    [refund_event] = stripe_events("refund.created")
    refund, outcome = refund_upsert(org=org, observation=refund_event.refunds[0], contact=None)
    assert outcome == "created"
    assert refund.payment is None and refund.payment_external_id == "pi_SA0000"
    ingest_stripe(org, None, stripe_events("payment_intent.succeeded"))
    refund.refresh_from_db()
    assert refund.payment == Payment.objects.get(org=org, external_id="pi_SA0000")


def test_a_refund_naming_only_the_charge_finds_the_payment_by_its_charge(team_a):
    org = team_a.org
    payload = load_fixture("stripe/refund.created")
    del payload["data"]["object"]["payment_intent"]
    [refund_obs] = stripe.parse_event(payload).refunds
    refund, _ = refund_upsert(org=org, observation=refund_obs, contact=None)
    assert refund.payment is None and refund.payment_external_id == "ch_SA0000"
    ingest_stripe(org, None, stripe_events("charge.succeeded"))
    refund.refresh_from_db()
    assert refund.payment.external_id == "pi_SA0000"


def test_a_refunded_total_without_refund_ids_is_one_balance_refund(team_a):
    """charge.refunded (no expanded list) says 500 refunded; the itemised refund then explains it."""
    org = team_a.org
    ingest_stripe(org, None, stripe_events("charge.succeeded", "charge.refunded"))
    payment = Payment.objects.get(org=org)
    assert [r.amount for r in payment.refunds.all()] == [Decimal("500.00")]
    ingest_stripe(org, None, stripe_events("refund.created", "charge.refunded"))
    assert [(r.external_id, r.amount) for r in payment.refunds.all()] == [
        ("re_SA0000", Decimal("500.00"))
    ]


def test_a_pending_refund_counts_only_once_it_succeeds(team_a):
    org = team_a.org
    ingest_stripe(org, None, stripe_events("charge.succeeded"))
    payload = load_fixture("stripe/refund.created")
    payload["data"]["object"]["status"] = "pending"
    refund, _ = refund_upsert(
        org=org, observation=stripe.parse_event(payload).refunds[0], contact=None
    )
    assert refund.amount == Decimal("0.00") and "pending" in refund.reason
    payload["data"]["object"]["status"] = "succeeded"
    refund, outcome = refund_upsert(
        org=org, observation=stripe.parse_event(payload).refunds[0], contact=None
    )
    assert (outcome, refund.amount) == ("updated", Decimal("500.00"))


def test_whop_decimal_amounts_stay_exact(team_a):
    org = team_a.org
    payment_payload = load_fixture("whop/payment.succeeded")
    payment_payload["data"]["total"] = 1497.1
    event = whop.parse_webhook(payment_payload)
    payment, outcome = payment_upsert(org=org, observation=event.payment, contact=None)
    assert outcome == "created"
    payment.refresh_from_db()
    assert payment.amount == Decimal("1497.10")
    assert (payment.provider, payment.external_id, payment.currency) == (
        "whop",
        "pay_sample0001",
        "USD",
    )
    assert payment.product == "prod_sampleCoaching"
    refund_event = whop.parse_webhook(load_fixture("whop/refund.created"))
    refund, _ = refund_upsert(org=org, observation=refund_event.refund, contact=None)
    refund.refresh_from_db()
    assert refund.payment == payment and refund.amount == Decimal("250.50")
    assert payment_upsert(org=org, observation=event.payment, contact=None)[1] == "unchanged"


def test_a_late_pending_event_never_undoes_a_success(team_a):
    org = team_a.org
    payload = load_fixture("whop/payment.succeeded")
    payment_upsert(org=org, observation=whop.parse_webhook(payload).payment, contact=None)
    payload["type"] = "payment.pending"
    payment, outcome = payment_upsert(
        org=org, observation=whop.parse_webhook(payload).payment, contact=None
    )
    assert (outcome, payment.status) == ("unchanged", Payment.Status.SUCCEEDED)


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_purchase_make_one_payment(team_a):
    """A webhook and a sync delivering the same purchase at the same instant: one row."""
    org = team_a.org
    observations = [
        e.payment for e in stripe_events("payment_intent.succeeded", "charge.succeeded")
    ]
    observations *= 3
    barrier = threading.Barrier(len(observations))
    errors = []

    def deliver(observation):
        try:
            barrier.wait()
            payment_upsert(org=org, observation=observation, contact=None)
        except Exception as exc:  # surfaced through the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(o,)) for o in observations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    assert errors == []
    assert Payment.objects.filter(org=org).count() == 1
    assert Refund.objects.filter(org=org).count() == 0
