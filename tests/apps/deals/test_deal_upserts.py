"""Acceptance 1 (deals): CRM opportunities, PCF deals and PCF cash, folded into one sale."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.deals.models import Deal
from apps.deals.services import deal_upsert_from_crm
from apps.meetings.services import pcf_submit
from apps.payments.models import CreditBasis, Payment
from attribution.sources import close
from tests.attribution.sources.conftest import load_fixture
from tests.factories import ContactFactory, MeetingFactory

pytestmark = pytest.mark.django_db
CALL_AT = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)


def opportunity(**changes) -> close.Opportunity:
    payload = load_fixture("close/opportunity.updated")
    payload["event"]["data"].update(changes)
    record = close.parse_webhook(payload)
    assert isinstance(record, close.Opportunity)
    return record


@pytest.fixture
def dana(team_a):
    member = team_a.other_closer_member
    member.external_ids = {"close": "user_dana_closer"}
    member.save()
    return member


@pytest.fixture
def contact(team_a):
    return ContactFactory(org=team_a.org)


@pytest.fixture
def meeting(team_a, contact):
    return MeetingFactory(
        org=team_a.org,
        contact=contact,
        scheduled_at=CALL_AT,
        closer=team_a.closer_member,
        setter=team_a.setter_member,
        host=team_a.closer_member,
    )


def submit_pcf(team_a, meeting, **data):
    data.setdefault("call_occurred", True)
    data.setdefault("lead_showed", True)
    if data.get("cash_collected"):
        data.setdefault("payment_type", "deposit")
    return pcf_submit(
        org=team_a.org,
        meeting=meeting,
        author=team_a.closer_member,
        data=data,
        actor=team_a.closer,
    )


def test_a_close_opportunity_becomes_a_deal_once(team_a, contact, dana):
    deal, outcome = deal_upsert_from_crm(org=team_a.org, opportunity=opportunity(), contact=contact)
    assert outcome == "created"
    deal.refresh_from_db()
    assert (deal.provider, deal.external_id) == ("close", "oppo_SA0000")
    assert deal.value == Decimal("5000.00") and deal.currency == "USD"
    assert (deal.status, deal.value_period, deal.confidence) == ("won", "one_time", 100)
    assert deal.closed_at.date().isoformat() == "2026-03-07"
    assert deal.closer == dana
    again = deal_upsert_from_crm(org=team_a.org, opportunity=opportunity(), contact=contact)
    assert again[1] == "unchanged"
    lost, outcome = deal_upsert_from_crm(
        org=team_a.org,
        opportunity=opportunity(status_type="lost", date_won=None),
        contact=contact,
    )
    assert (outcome, lost.status, lost.closed_at) == ("updated", "lost", None)
    assert Deal.objects.filter(org=team_a.org).count() == 1


def test_the_won_date_is_the_org_local_day(team_a, contact):
    team_a.org.timezone = "America/Los_Angeles"
    team_a.org.save()
    deal, _ = deal_upsert_from_crm(org=team_a.org, opportunity=opportunity(), contact=contact)
    local = deal.closed_at.astimezone(__import__("zoneinfo").ZoneInfo("America/Los_Angeles"))
    assert local.date().isoformat() == "2026-03-07"


def test_a_pcf_cash_entry_is_one_manual_payment_credited_to_the_call(team_a, meeting):
    pcf = submit_pcf(team_a, meeting, cash_collected=Decimal("1234.56"))
    submit_pcf(team_a, meeting, cash_collected=Decimal("1234.56"), notes="edited")
    payment = Payment.objects.get(org=team_a.org)
    assert (payment.provider, payment.external_id) == ("manual", f"pcf:{pcf.pk}")
    assert payment.amount == Decimal("1234.56")
    assert (payment.meeting, payment.closer, payment.setter) == (
        meeting,
        team_a.closer_member,
        team_a.setter_member,
    )
    assert payment.credit_basis == CreditBasis.MEETING


@pytest.mark.parametrize("crm_first", [False, True])
def test_a_crm_deal_and_a_pcf_deal_for_one_sale_fold_into_one(team_a, meeting, dana, crm_first):
    org = team_a.org
    if crm_first:
        deal_upsert_from_crm(org=org, opportunity=opportunity(), contact=meeting.contact)
    pcf = submit_pcf(
        team_a,
        meeting,
        deal_closed=True,
        contract_value=Decimal("4000"),
        cash_collected=Decimal("1000"),
    )
    if not crm_first:
        deal_upsert_from_crm(org=org, opportunity=opportunity(), contact=meeting.contact)
    [deal] = Deal.objects.filter(org=org)
    # The CRM wins value and dates; the PCF stays linked.
    assert (deal.provider, deal.external_id) == ("close", "oppo_SA0000")
    assert deal.value == Decimal("5000.00")
    assert deal.closed_at.date().isoformat() == "2026-03-07"
    assert deal.pcf == pcf and deal.meeting == meeting
    assert deal.closer == dana
    payment = Payment.objects.get(org=org, external_id=f"pcf:{pcf.pk}")
    assert payment.deal == deal
    # Saving the PCF again or re-delivering the opportunity does not split them.
    submit_pcf(team_a, meeting, deal_closed=True, contract_value=Decimal("4100"))
    deal_upsert_from_crm(org=org, opportunity=opportunity(), contact=meeting.contact)
    [deal] = Deal.objects.filter(org=org)
    assert deal.value == Decimal("5000.00") and deal.pcf == pcf


def test_deals_outside_the_fold_window_stay_apart_until_the_window_is_widened(team_a, contact):
    org = team_a.org
    far = MeetingFactory(org=org, contact=contact, scheduled_at=CALL_AT - timedelta(days=30))
    submit_pcf(team_a, far, deal_closed=True, contract_value=Decimal("4000"))
    deal_upsert_from_crm(org=org, opportunity=opportunity(), contact=contact)
    assert Deal.objects.filter(org=org).count() == 2

    org.settings = {"deal_fold_window_days": 45}
    org.save()
    # The same opportunity, unchanged, delivered again: the wider window folds them now.
    _, outcome = deal_upsert_from_crm(org=org, opportunity=opportunity(), contact=contact)
    assert outcome == "updated"
    [deal] = Deal.objects.filter(org=org)
    assert deal.value == Decimal("5000.00") and deal.pcf.meeting == far


def test_another_contacts_pcf_deal_is_never_folded(team_a, meeting):
    submit_pcf(team_a, meeting, deal_closed=True, contract_value=Decimal("4000"))
    deal_upsert_from_crm(
        org=team_a.org, opportunity=opportunity(), contact=ContactFactory(org=team_a.org)
    )
    assert Deal.objects.filter(org=team_a.org).count() == 2


def test_unfolding_a_pcf_withdrawn_or_an_opportunity_deleted(team_a, meeting):
    org = team_a.org
    pcf = submit_pcf(team_a, meeting, deal_closed=True, contract_value=Decimal("4000"))
    deal_upsert_from_crm(org=org, opportunity=opportunity(), contact=meeting.contact)
    # The rep corrects the form: the CRM deal stays, without the link.
    submit_pcf(team_a, meeting, deal_closed=False)
    [deal] = Deal.objects.filter(org=org)
    assert deal.provider == "close" and deal.pcf is None
    submit_pcf(team_a, meeting, deal_closed=True, contract_value=Decimal("4000"))
    [deal] = Deal.objects.filter(org=org)
    assert deal.pcf == pcf
    # The opportunity is deleted in the CRM: the PCF's own deal comes back.
    deal_upsert_from_crm(org=org, opportunity=opportunity(), contact=meeting.contact)
    payload = load_fixture("close/opportunity.updated")
    payload["event"]["action"] = "deleted"
    deleted = close.parse_webhook(payload)
    _, outcome = deal_upsert_from_crm(org=org, opportunity=deleted, contact=meeting.contact)
    assert outcome == "updated"
    [deal] = Deal.objects.filter(org=org)
    assert (deal.provider, deal.value, deal.pcf) == ("manual", Decimal("4000.00"), pcf)


def _race(*calls):
    """Run the calls at the same instant, each on its own connection; return their errors."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(len(calls))
    errors = []

    def run(call):
        try:
            barrier.wait()
            call()
        except Exception as exc:  # surfaced through the caller's assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_opportunity_make_one_deal(team_a):
    org = team_a.org
    record = opportunity()
    errors = _race(*[lambda: deal_upsert_from_crm(org=org, opportunity=record, contact=None)] * 4)
    assert errors == []
    assert Deal.objects.filter(org=org).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_pcf_and_the_crm_at_the_same_instant_still_fold(team_a, meeting):
    org = team_a.org
    record = opportunity()
    errors = _race(
        lambda: submit_pcf(team_a, meeting, deal_closed=True, contract_value=Decimal("4000")),
        lambda: deal_upsert_from_crm(org=org, opportunity=record, contact=meeting.contact),
    )
    assert errors == []
    [deal] = Deal.objects.filter(org=org)
    assert deal.provider == "close" and deal.pcf is not None
