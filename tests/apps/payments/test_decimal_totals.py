"""Acceptance 4: money is Decimal end to end, from the provider's JSON to the page, the CSV and
the payout snapshot; many 0.10s and 0.20s add up exactly (as floats they would not)."""

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.payments.models import CommissionRule, Payment, Refund
from apps.payments.services import (
    payment_record_manual,
    payment_upsert,
    payout_snapshot_create,
    refund_upsert,
)
from attribution.sources import stripe, whop
from tests.apps.csv_read import csv_text
from tests.attribution.sources.conftest import load_fixture

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, tzinfo=UTC)
N = 120  # of each kind of payment


def whop_payment(org, i, amount: float):
    payload = load_fixture("whop/payment.succeeded")
    payload["data"].update(id=f"pay_{i}", total=amount, paid_at=None)
    payload["timestamp"] = (START + timedelta(minutes=i)).isoformat().replace("+00:00", "Z")
    # Through JSON text, as a webhook body arrives: the amount is a JSON float.
    event = whop.parse_webhook(json.loads(json.dumps(payload)))
    return payment_upsert(org=org, observation=event.payment, contact=None)[0]


def stripe_payment(org, i, cents: int):
    payload = load_fixture("stripe/charge.succeeded")
    charge = payload["data"]["object"]
    charge.update(
        id=f"ch_{i}",
        payment_intent=f"pi_{i}",
        amount=cents,
        amount_captured=cents,
        created=int((START + timedelta(minutes=i)).timestamp()),
    )
    return payment_upsert(org=org, observation=stripe.parse_event(payload).payment, contact=None)[0]


def test_many_dimes_and_twenty_cents_add_up_exactly(client, team_a):
    org = team_a.org
    assert sum([0.1] * N + [0.2] * N) != 36.0  # the trap floats fall into
    for i in range(N):
        whop_payment(org, i, 0.1)
        stripe_payment(org, i, 20)
        payment_record_manual(
            org=org,
            contact=None,
            amount=Decimal("0.10"),
            currency="USD",
            paid_at=START + timedelta(minutes=i),
            external_id=f"cash:{i}",
        )
    for i in range(0, N, 4):  # a 0.10 refund on every fourth Stripe payment
        payload = load_fixture("stripe/refund.created")
        payload["data"]["object"].update(
            id=f"re_{i}", amount=10, payment_intent=f"pi_{i}", charge=f"ch_{i}"
        )
        refund_upsert(org=org, observation=stripe.parse_event(payload).refunds[0], contact=None)

    payments = Payment.objects.filter(org=org)
    assert payments.count() == 3 * N
    assert all(isinstance(p.amount, Decimal) for p in payments)
    assert sum(p.amount for p in payments) == Decimal("48.00")
    assert sum(r.amount for r in Refund.objects.filter(org=org)) == Decimal("3.00")

    client.force_login(team_a.manager)
    query = {"start": "2026-03-01", "end": "2026-03-31"}
    page = client.get(reverse("payments:list"), query)
    [usd] = page.context["totals"]
    assert (usd.count, usd.gross, usd.refunds, usd.net) == (
        3 * N,
        Decimal("48.00"),
        Decimal("3.00"),
        Decimal("45.00"),
    )
    html = page.content.decode()
    assert 'data-total="gross">$48.00<' in html and 'data-total="net">$45.00<' in html

    rows = list(
        csv.reader(
            io.StringIO(csv_text(client.get(reverse("payments:list"), {**query, "format": "csv"})))
        )
    )
    body, total = rows[1:-1], rows[-1]
    assert total[5:9] == ["USD", "48.00", "3.00", "45.00"]
    # The CSV lines themselves add up to the CSV's total, as decimals.
    assert sum(Decimal(r[8]) for r in body) == Decimal("45.00")
    assert {r[6] for r in body} == {"0.10", "0.20"}

    member = team_a.closer_member
    CommissionRule.objects.create(org=org, team_member=member, role="closer", percent=Decimal("10"))
    Payment.objects.filter(org=org).update(closer=member)
    snapshot = payout_snapshot_create(
        org=org, start=date(2026, 3, 1), end=date(2026, 3, 31), actor=None
    )
    totals = snapshot.summary["USD"]["totals"]
    # 10% of each net: 0.01 per dime, 0.02 per 0.20, 0.01 on the refunded ones (0.10 net).
    assert totals["net"] == "45.00"
    assert totals["commission"] == "4.50"
    assert sum(line.commission for line in snapshot.lines.all()) == Decimal("4.50")
