"""Acceptance 2: each base count is placed by its own date, in the org's time zone, at month ends.

New York is UTC-5 in winter: 23:30 on 31 January there is already 1 February in UTC, and must
still count in January.
"""

from datetime import date, datetime, time
from decimal import Decimal

import pytest

from apps.kpis.models import AdSpend
from apps.kpis.selectors import base_counts
from apps.kpis.services import rollup_rebuild
from tests.factories import (
    AdSpendFactory,
    ContactFactory,
    DealFactory,
    MeetingFactory,
    PaymentFactory,
    RefundFactory,
)

pytestmark = pytest.mark.django_db

JAN = (date(2026, 1, 1), date(2026, 1, 31))
FEB = (date(2026, 2, 1), date(2026, 2, 28))


@pytest.fixture
def org(team_a):
    team_a.org.timezone = "America/New_York"
    team_a.org.save()
    return team_a.org


def _late_jan(org):
    return datetime.combine(date(2026, 1, 31), time(23, 30), tzinfo=org.tzinfo)


def _early_feb(org):
    return datetime.combine(date(2026, 2, 1), time(0, 30), tzinfo=org.tzinfo)


def _build(org, when, amount):
    """One row of every dated kind at ``when``; ``amount`` tells the months apart."""
    contact = ContactFactory(org=org, first_seen_at=when, original_source="ads")
    MeetingFactory(org=org, contact=contact, call_type="triage", scheduled_at=when)
    MeetingFactory(org=org, contact=contact, call_type="solution", scheduled_at=when)
    DealFactory(org=org, contact=contact, value=Decimal(amount), closed_at=when)
    payment = PaymentFactory(
        org=org, contact=contact, amount=Decimal(amount), paid_at=when, currency="USD"
    )
    RefundFactory(payment=payment, amount=Decimal(amount) / 10, refunded_at=when)
    AdSpendFactory(org=org, date=when.astimezone(org.tzinfo).date(), amount=Decimal(amount))


@pytest.mark.parametrize("raw", [True, False], ids=["raw", "rollup"])
def test_each_count_lands_in_its_local_month(org, raw):
    _build(org, _late_jan(org), 100)
    _build(org, _early_feb(org), 200)
    assert _late_jan(org).astimezone(tz=None).utctimetuple().tm_mon == 2  # UTC says February
    rollup_rebuild(org=org)
    for (start, end), amount in ((JAN, 100), (FEB, 200)):
        base = base_counts(org=org, start=start, end=end, raw=raw)[()]
        money = Decimal(amount)
        assert base["leads"] == 1
        assert (base["triage_booked"], base["triage_due"], base["triage_attended"]) == (1, 1, 1)
        assert (base["solution_booked"], base["solution_due"]) == (1, 1)
        assert (base["deals_won"], base["revenue"]) == (1, money)
        assert base["cash_collected"] == money - money / 10
        assert base["refunds"] == money / 10
        assert base["ad_spend"] == money


def test_a_day_range_ends_inclusive_at_local_midnight(org):
    _build(org, _late_jan(org), 100)
    rollup_rebuild(org=org)
    last_day = base_counts(org=org, start=date(2026, 1, 31), end=date(2026, 1, 31))[()]
    assert last_day["triage_booked"] == 1
    first_of_feb = base_counts(org=org, start=date(2026, 2, 1), end=date(2026, 2, 1))[()]
    assert first_of_feb["triage_booked"] == 0


def test_month_spend_spreads_evenly_and_sums_exactly(org):
    AdSpend.objects.create(
        org=org,
        granularity="month",
        date=date(2026, 1, 1),
        amount=Decimal("1000.00"),
        currency="USD",
    )
    rollup_rebuild(org=org)
    whole = base_counts(org=org, start=JAN[0], end=JAN[1])[()]
    assert whole["ad_spend"] == Decimal("1000.00")
    first_ten = base_counts(org=org, start=date(2026, 1, 1), end=date(2026, 1, 10), raw=True)[()]
    # 100000 cents over 31 days: 3225 each, the 25 leftover cents on the first 25 days.
    assert first_ten["ad_spend"] == Decimal("322.60")
    assert base_counts(org=org, start=FEB[0], end=FEB[1])[()]["ad_spend"] == 0
