"""Acceptance 3: payout snapshots are frozen; a refund after one is clawed back in the next."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.orgs.models import AuditLog
from apps.payments.models import (
    CommissionRule,
    PayoutLine,
    PayoutSnapshot,
    SnapshotImmutable,
)
from apps.payments.services import payout_snapshot_create
from tests.factories import ContactFactory, PaymentFactory, RefundFactory

pytestmark = pytest.mark.django_db
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
APRIL = (date(2026, 4, 1), date(2026, 4, 30))


@pytest.fixture
def rules(team_a):
    org = team_a.org
    CommissionRule.objects.create(
        org=org, team_member=team_a.closer_member, role="closer", percent=Decimal("10")
    )
    CommissionRule.objects.create(
        org=org,
        team_member=team_a.closer_member,
        role="closer",
        percent=Decimal("15"),
        product="prod_vip",
    )
    CommissionRule.objects.create(
        org=org, team_member=team_a.setter_member, role="setter", percent=Decimal("5")
    )


def paid(team_a, amount, when, **kwargs):
    kwargs.setdefault("contact", ContactFactory(org=team_a.org, original_source="facebook"))
    return PaymentFactory(
        org=team_a.org,
        amount=Decimal(amount),
        paid_at=when,
        closer=team_a.closer_member,
        setter=team_a.setter_member,
        **kwargs,
    )


def snap(team_a, period):
    return payout_snapshot_create(
        org=team_a.org, start=period[0], end=period[1], actor=team_a.manager
    )


def test_lines_summaries_and_per_product_rules(team_a, rules):
    march = datetime(2026, 3, 10, tzinfo=UTC)
    p1 = paid(team_a, "1000.00", march)
    RefundFactory(payment=p1, amount=Decimal("200.00"))
    paid(team_a, "333.33", march, product="prod_vip")
    paid(team_a, "999.00", datetime(2026, 4, 1, 1, tzinfo=UTC))  # April: not this period
    snapshot = snap(team_a, MARCH)
    closer_lines = snapshot.lines.filter(role="closer").order_by("paid_at", "pk")
    assert [(ln.net_amount, ln.percent, ln.commission) for ln in closer_lines] == [
        (Decimal("800.00"), Decimal("10.00"), Decimal("80.00")),
        (Decimal("333.33"), Decimal("15.00"), Decimal("50.00")),
    ]
    setter_total = sum(ln.commission for ln in snapshot.lines.filter(role="setter"))
    assert setter_total == Decimal("40.00") + Decimal("16.67")
    usd = snapshot.summary["USD"]
    assert usd["totals"] == {
        "net": "1133.33",
        "commission": "186.67",
        "adjustments": "0.00",
        "payments": 2,
    }
    assert usd["closers"][0]["commission"] == "130.00"
    assert usd["sources"] == [
        {
            "source": "facebook",
            "name": "facebook",
            "net": "1133.33",
            "commission": "186.67",
            "lines": 2,
        }
    ]
    assert AuditLog.objects.filter(action="payout.snapshot_create", actor=team_a.manager).exists()


def test_a_snapshot_cannot_be_changed_or_deleted(team_a, rules):
    paid(team_a, "100.00", datetime(2026, 3, 2, tzinfo=UTC))
    snapshot = snap(team_a, MARCH)
    line = snapshot.lines.first()
    snapshot.period_end = date(2026, 4, 30)
    with pytest.raises(SnapshotImmutable):
        snapshot.save()
    line.commission = Decimal("1000000")
    with pytest.raises(SnapshotImmutable):
        line.save()
    with pytest.raises(SnapshotImmutable):
        snapshot.delete()
    with pytest.raises(SnapshotImmutable):
        line.delete()
    with pytest.raises(SnapshotImmutable):
        PayoutLine.objects.filter(pk=line.pk).update(commission=0)
    with pytest.raises(SnapshotImmutable):
        PayoutSnapshot.objects.filter(pk=snapshot.pk).delete()
    fresh = PayoutLine.objects.get(pk=line.pk)
    assert fresh.commission == Decimal("10.00")
    assert PayoutSnapshot.objects.get(pk=snapshot.pk).period_end == MARCH[1]


def test_the_admin_is_read_only(client, team_a, rules):
    paid(team_a, "100.00", datetime(2026, 3, 2, tzinfo=UTC))
    snapshot = snap(team_a, MARCH)
    client.force_login(team_a.owner)
    change_url = reverse("admin:payments_payoutsnapshot_change", args=[snapshot.pk])
    page = client.get(change_url)
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert not page.context["has_delete_permission"]
    assert client.post(change_url, {"period_end": "2026-04-30"}).status_code == 403
    delete_url = reverse("admin:payments_payoutsnapshot_delete", args=[snapshot.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:payments_payoutsnapshot_changelist")
    client.post(changelist, {"action": "delete_selected", "_selected_action": [snapshot.pk]})
    assert client.get(reverse("admin:payments_payoutsnapshot_add")).status_code == 403
    assert PayoutSnapshot.objects.filter(pk=snapshot.pk).exists()
    assert PayoutSnapshot.objects.get(pk=snapshot.pk).period_end == MARCH[1]


def test_a_refund_after_the_snapshot_is_a_clawback_in_the_next_one(team_a, rules):
    march_payment = paid(team_a, "1000.00", datetime(2026, 3, 10, tzinfo=UTC))
    march = snap(team_a, MARCH)
    assert sum(ln.commission for ln in march.lines.all()) == Decimal("150.00")

    refund = RefundFactory(
        payment=march_payment,
        amount=Decimal("250.00"),
        refunded_at=datetime(2026, 4, 3, tzinfo=UTC),
    )
    paid(team_a, "400.00", datetime(2026, 4, 20, tzinfo=UTC))
    april = snap(team_a, APRIL)
    adjustments = list(april.lines.filter(is_adjustment=True).order_by("role"))
    assert [(a.role, a.net_amount, a.commission, a.refund) for a in adjustments] == [
        ("closer", Decimal("-250.00"), Decimal("-25.00"), refund),
        ("setter", Decimal("-250.00"), Decimal("-12.50"), refund),
    ]
    assert april.summary["USD"]["totals"] == {
        "net": "150.00",
        "commission": "22.50",
        "adjustments": "-250.00",
        "payments": 1,
    }
    # The March snapshot is untouched; running March again makes a new one that nets the refund.
    assert sum(ln.commission for ln in march.lines.all()) == Decimal("150.00")
    march_again = snap(team_a, MARCH)
    assert march_again.pk != march.pk
    assert PayoutSnapshot.objects.filter(org=team_a.org, period_start=MARCH[0]).count() == 2
    # ...but the refund was clawed back by April, so March does not take it twice.
    assert sum(ln.commission for ln in march_again.lines.all()) == Decimal("150.00")
    # May claws nothing back again; re-running April claws it back again (it replaces April).
    assert not snap(team_a, (date(2026, 5, 1), date(2026, 5, 31))).lines.filter(is_adjustment=True)
    assert snap(team_a, APRIL).lines.filter(is_adjustment=True).count() == 2


def test_a_refund_known_before_the_snapshot_is_netted_not_clawed(team_a, rules):
    payment = paid(team_a, "1000.00", datetime(2026, 3, 10, tzinfo=UTC))
    RefundFactory(payment=payment, amount=Decimal("100.00"))
    march = snap(team_a, MARCH)
    assert march.lines.get(role="closer").net_amount == Decimal("900.00")
    assert not snap(team_a, APRIL).lines.filter(is_adjustment=True).exists()


def test_payments_in_another_currency_are_summarised_apart(team_a, rules):
    when = datetime(2026, 3, 10, tzinfo=UTC)
    paid(team_a, "100.00", when)
    paid(team_a, "100.00", when, currency="EUR")
    summary = snap(team_a, MARCH).summary
    assert sorted(summary) == ["EUR", "USD"]
    assert summary["USD"]["totals"]["net"] == summary["EUR"]["totals"]["net"] == "100.00"


def test_the_period_is_org_local_days(team_a, rules):
    team_a.org.timezone = "America/New_York"
    team_a.org.save()
    # 02:00 UTC on 1 April is still 31 March in New York.
    paid(team_a, "100.00", datetime(2026, 4, 1, 2, tzinfo=UTC))
    assert snap(team_a, MARCH).lines.filter(role="closer").count() == 1
    assert snap(team_a, APRIL).lines.count() == 0


def test_deleting_a_paid_payment_leaves_the_frozen_lines_readable(team_a, rules):
    payment = paid(team_a, "100.00", datetime(2026, 3, 2, tzinfo=UTC))
    snapshot = snap(team_a, MARCH)
    refund = RefundFactory(payment=payment, amount=Decimal("10.00"))
    april = snap(team_a, APRIL)
    payment.delete()  # e.g. a PCF corrected to "no cash": the statement still reads the same
    line = snapshot.lines.get(role="closer")
    assert (line.payment, line.gross_amount, line.commission) == (
        None,
        Decimal("100.00"),
        Decimal("10.00"),
    )
    assert april.lines.filter(is_adjustment=True, refund=None).count() == 2
    assert not type(refund).objects.filter(pk=refund.pk).exists()


def test_a_reported_refund_total_itemised_later_is_not_clawed_twice(team_a, rules):
    """Stripe charge.refunded (a total) before the snapshot, refund.created (its id) after."""
    from apps.payments.services import payment_upsert, refund_upsert
    from attribution.sources import stripe
    from tests.attribution.sources.conftest import load_fixture

    org = team_a.org
    events = [
        stripe.parse_event(load_fixture(f"stripe/{n}"))
        for n in ("charge.succeeded", "charge.refunded")
    ]
    for event in events:
        payment, _ = payment_upsert(org=org, observation=event.payment, contact=None)
    payment.closer, payment.setter = team_a.closer_member, team_a.setter_member
    payment.save()
    march = snap(team_a, MARCH)  # the charge is dated 7 March 2026
    assert march.lines.get(role="closer").net_amount == Decimal("2000.00")
    refund_event = stripe.parse_event(load_fixture("stripe/refund.created"))
    refund_upsert(org=org, observation=refund_event.refunds[0], contact=None)
    assert [r.external_id for r in payment.refunds.all()] == ["re_SA0000"]
    assert not snap(team_a, APRIL).lines.filter(is_adjustment=True).exists()
