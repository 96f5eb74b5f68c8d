"""The journey table: built from touchpoints, calls, deals and payments, kept current by the
signals (a change enqueues a refresh of the contacts it touched), and read with the spend rule."""

from datetime import timedelta
from decimal import Decimal

import pytest

from apps.kpis.models import AdSpend
from apps.marketing.models import Campaign, CampaignDay, Journey, JourneyState
from apps.marketing.selectors import Query, attribution_report, input_version
from apps.meetings.models import CallType
from tests.apps.marketing.helpers import at, journey, paid, past_month, rebuild, touch
from tests.factories import ContactFactory, MeetingFactory, RefundFactory

pytestmark = pytest.mark.django_db


def _linear(org, first, last, **kw):
    return attribution_report(
        org=org, query=Query(start=first, end=last, model="linear", **kw), compute=True
    )


def test_a_payment_journey_has_its_touches_up_to_the_payment_and_its_net_cash(team_a):
    org = team_a.org
    first, _last = past_month(2)
    day = first + timedelta(days=5)
    contact = journey(org, day, [("fb", "a"), ("google", "b")], cash=1000)
    touch(org, contact, day + timedelta(days=1), "tiktok")  # after the payment: never counts
    RefundFactory(payment=contact.payments.get(), amount=Decimal("250"))
    rebuild(org)
    row = Journey.objects.get(org=org, kind="payment")
    assert row.value == Decimal("750.00")
    assert [t[1] for t in row.touches] == ["fb", "google"]
    assert Journey.objects.get(org=org, kind="contact").touches[-1][1] == "tiktok"


def test_changes_refresh_the_journeys_through_the_signals(
    team_a, django_capture_on_commit_callbacks
):
    org = team_a.org
    first, last = past_month(2)
    day = first + timedelta(days=5)
    rebuild(org)
    before = input_version(org=org)
    with django_capture_on_commit_callbacks(execute=True):
        contact = ContactFactory(org=org, first_seen_at=at(org, day))
        touch(org, contact, day, "youtube", "launch")
        payment = paid(org, contact, day, 400)
    assert input_version(org=org) != before
    assert Journey.objects.get(org=org, kind="payment").value == Decimal("400.00")
    with django_capture_on_commit_callbacks(execute=True):
        RefundFactory(payment=payment, amount=Decimal("100"))
    assert Journey.objects.get(org=org, kind="payment").value == Decimal("300.00")
    report = _linear(org, first, last)
    assert [(r.channel, r.credited) for r in report.channels] == [("youtube", Decimal("300.00"))]
    with django_capture_on_commit_callbacks(execute=True):
        payment.delete()
    assert not Journey.objects.filter(org=org, kind="payment").exists()


def test_no_utm_is_direct_and_a_crm_created_lead_is_crm(team_a):
    org = team_a.org
    first, last = past_month(2)
    day = first + timedelta(days=5)
    a = ContactFactory(org=org)
    touch(org, a, day, "", kind="crm_lead")
    paid(org, a, day, 100)
    b = ContactFactory(org=org)
    touch(org, b, day, "")
    paid(org, b, day, 50)
    c = ContactFactory(org=org)  # no touch at all: credited to direct
    paid(org, c, day, 25)
    rebuild(org)
    credited = {r.channel: r.credited for r in _linear(org, first, last).channels}
    assert credited == {"crm": Decimal("100.00"), "direct": Decimal("75.00")}


def test_the_touches_that_led_to_the_bookings_are_the_w_shaped_milestones(team_a):
    org = team_a.org
    first, last = past_month(2)
    day = first + timedelta(days=10)
    contact = journey(
        org, day, [("fb", ""), ("google", ""), ("yt", ""), ("tiktok", "")], value=1000
    )
    # Triage booked after the google touch, solution after the yt touch.
    MeetingFactory(
        org=org,
        contact=contact,
        call_type=CallType.TRIAGE,
        booked_at=at(org, day - timedelta(days=2), 10),
        scheduled_at=at(org, day, 8),
    )
    MeetingFactory(org=org, contact=contact, call_type=CallType.SOLUTION,
                   booked_at=at(org, day - timedelta(days=1), 10), scheduled_at=at(org, day, 9))  # fmt: skip
    rebuild(org)
    row = Journey.objects.get(org=org, kind="deal")
    assert [t[4] for t in row.touches] == ["", "triage", "solution", ""]
    report = attribution_report(
        org=org, query=Query(start=first, end=last, model="w_shaped", value="revenue"), compute=True
    )
    credited = {r.channel: r.credited for r in report.channels}
    assert credited == {
        "meta": Decimal("300.00"),
        "google": Decimal("300.00"),
        "youtube": Decimal("300.00"),
        "tiktok": Decimal("100.00"),
    }


def test_ad_spend_counts_once_beside_campaign_days(team_a):
    org = team_a.org
    first, last = past_month(2)
    campaign = Campaign.objects.create(org=org, channel="meta", name="spring")
    CampaignDay.objects.create(org=org, campaign=campaign, date=first, spend=Decimal("100"))
    # The same day entered as ad spend too: CampaignDay wins, counted once.
    AdSpend.objects.create(org=org, date=first, source="facebook", campaign="spring",
                           amount=Decimal("100"), currency=org.currency)  # fmt: skip
    # Another day only in AdSpend: counted.
    AdSpend.objects.create(org=org, date=first + timedelta(days=1), source="fb",
                           campaign="spring", amount=Decimal("40"), currency=org.currency)  # fmt: skip
    rebuild(org)
    report = _linear(org, first, last)
    spring = next(r for r in report.campaigns if r.campaign == "spring")
    assert spring.spend == Decimal("140")
    assert report.channels[0].channel == "meta" and report.channels[0].spend == Decimal("140")


def test_the_lookback_drops_older_touches(team_a):
    org = team_a.org
    first, last = past_month(2)
    day = first + timedelta(days=20)
    contact = ContactFactory(org=org)
    touch(org, contact, day - timedelta(days=40), "fb")
    touch(org, contact, day, "google")
    paid(org, contact, day, 100)
    rebuild(org)
    short = {r.channel: r.credited for r in _linear(org, first, last, lookback_days=30).channels}
    long = {r.channel: r.credited for r in _linear(org, first, last, lookback_days=90).channels}
    assert short == {"google": Decimal("100.00")}
    assert long == {"meta": Decimal("50.00"), "google": Decimal("50.00")}


def test_a_rebuild_marks_the_org_built(team_a):
    rebuild(team_a.org)
    assert JourneyState.objects.get(org=team_a.org).built_at is not None


def test_a_merge_and_its_undo_move_the_journeys(team_a, django_capture_on_commit_callbacks):
    from apps.contacts.models import ContactMerge
    from apps.contacts.services import contact_merge, contact_unmerge

    org = team_a.org
    first, _last = past_month(2)
    day = first + timedelta(days=5)
    winner = journey(org, day, [("google", "brand")], cash=100)
    loser = ContactFactory(org=org)
    touch(org, loser, day - timedelta(days=1), "fb", "spring")
    rebuild(org)
    with django_capture_on_commit_callbacks(execute=True):
        contact_merge(org=org, winner=winner, loser=loser, actor=None, reason="same person")
    row = Journey.objects.get(org=org, kind="payment")
    assert [t[1] for t in row.touches] == ["fb", "google"]
    with django_capture_on_commit_callbacks(execute=True):
        contact_unmerge(org=org, merge=ContactMerge.objects.get(org=org), actor=None)
    row = Journey.objects.get(org=org, kind="payment")
    assert [t[1] for t in row.touches] == ["google"]
