"""Deal probability through the database: the feature rows built in SQL, the "won within 90
days" labels, the fallback and the logistic model stored as versions, and the stored scores."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.deals.models import Deal
from apps.forecast.models import ForecastModel, Prediction
from apps.forecast.selectors import forecast_outcomes, forecast_units
from apps.forecast.services import forecast_train
from apps.forecast.tasks import forecast_train_nightly
from apps.meetings.models import CallType, Meeting
from tests.factories import (
    ContactFactory,
    DealFactory,
    MeetingFactory,
    PostCallFormFactory,
    TouchpointFactory,
)

pytestmark = pytest.mark.django_db


def _deal(org, *, created, status=Deal.Status.WON, closed=None, **kwargs):
    deal = DealFactory(org=org, status=status, closed_at=closed, **kwargs)
    Deal.objects.filter(pk=deal.pk).update(created_at=created)
    deal.refresh_from_db()
    return deal


def _by_pk(units, kind):
    return {u.pk: u for u in units if u.kind == kind}


def test_a_deals_features_come_from_its_contact_calls_pcf_and_touches(team_a):
    org, now = team_a.org, timezone.now()
    start = now - timedelta(days=30)
    contact = ContactFactory(
        org=org, original_source="Facebook", original_campaign="vsl", first_seen_at=start
    )
    for days, kind in ((0, "form"), (5, "booking"), (25, "form"), (26, "payment")):
        TouchpointFactory(contact=contact, kind=kind, occurred_at=start + timedelta(days=days))
    MeetingFactory(org=org, contact=contact, call_type=CallType.TRIAGE,
                   scheduled_at=start + timedelta(days=6), status=Meeting.Status.COMPLETED)  # fmt: skip
    solution = MeetingFactory(org=org, contact=contact, call_type=CallType.SOLUTION,
                              scheduled_at=start + timedelta(days=9), status="completed")  # fmt: skip
    pcf = PostCallFormFactory(meeting=solution, offer_made=True)
    deal = _deal(org, contact=contact, created=start + timedelta(days=20), status="active",
                 value=Decimal("5000"), confidence=60, closer=team_a.closer_member, pcf=pcf)  # fmt: skip

    unit = _by_pk(forecast_units(org=org, now=now), "deal")[deal.pk]
    f = unit.features
    assert (f.channel, f.campaign) == ("facebook", "vsl")
    assert f.touches == 2  # up to the deal's creation (day 20), payments never
    assert f.days_since_first_touch == pytest.approx(20)
    assert (f.triage_attended, f.solution_booked, f.solution_attended, f.offer_made) == (
        True,
        True,
        True,
        True,
    )
    assert (f.deal_value, f.crm_confidence, f.closer) == (5000, 60, str(team_a.closer_member.pk))
    assert f.stage == "offer_made"
    assert unit.is_open and not unit.settled


def test_a_solution_call_is_seen_as_it_was_just_before_it(team_a):
    org, now = team_a.org, timezone.now()
    contact = ContactFactory(org=org)
    call = MeetingFactory(org=org, contact=contact, call_type=CallType.SOLUTION,
                          scheduled_at=now - timedelta(days=100), status="completed",
                          closer=team_a.closer_member)  # fmt: skip
    PostCallFormFactory(meeting=call, offer_made=True)
    upcoming = MeetingFactory(org=org, call_type=CallType.SOLUTION,
                              scheduled_at=now + timedelta(days=2))  # fmt: skip
    units = _by_pk(forecast_units(org=org, now=now), "call")
    past = units[call.pk]
    assert past.features.stage == "solution_booked"  # its own show and offer came after
    assert not past.features.solution_attended and not past.features.offer_made
    assert past.settled and not past.won and not past.is_open  # 90 days on, no deal
    assert units[upcoming.pk].is_open and not units[upcoming.pk].settled
    assert units[upcoming.pk].features.closer == ""


def test_won_within_90_days_is_a_win_later_is_not_and_open_deals_wait(team_a):
    org, now = team_a.org, timezone.now()
    t0 = now - timedelta(days=200)
    fast = _deal(org, created=t0, closed=t0 + timedelta(days=30))
    slow = _deal(org, created=t0, closed=t0 + timedelta(days=120))
    lost = _deal(org, created=now - timedelta(days=10), status="lost")
    stale = _deal(org, created=t0, status="active")
    fresh = _deal(org, created=now - timedelta(days=5), status="active")
    _deal(org, created=now - timedelta(days=900), closed=now - timedelta(days=880))
    units = _by_pk(forecast_units(org=org, now=now), "deal")
    assert units[fast.pk].won and units[fast.pk].settled
    assert not units[slow.pk].won and units[slow.pk].settled
    assert units[lost.pk].settled and not units[lost.pk].won
    assert units[stale.pk].settled and not units[stale.pk].won and units[stale.pk].is_open
    assert not units[fresh.pk].settled and units[fresh.pk].is_open
    outcomes = forecast_outcomes(list(units.values()), now=now)
    assert len(outcomes) == 4  # the 900-day-old win is outside the 18 months
    assert [o.won for o in outcomes].count(True) == 1


def test_a_call_whose_lead_has_a_deal_is_that_deal(team_a):
    org, now = team_a.org, timezone.now()
    contact = ContactFactory(org=org)
    call = MeetingFactory(org=org, contact=contact, call_type=CallType.SOLUTION,
                          scheduled_at=now - timedelta(days=20))  # fmt: skip
    deal = _deal(org, contact=contact, created=now - timedelta(days=19), status="active")
    units = forecast_units(org=org, now=now)
    assert call.pk not in _by_pk(units, "call")
    assert _by_pk(units, "deal")[deal.pk].features.solution_booked


def test_below_200_outcomes_the_fallback_is_stored_and_scores_the_pipeline(team_a):
    org, now = team_a.org, timezone.now()
    for _ in range(12):  # 12 won after a call and an offer, 12 lost without a call
        contact = ContactFactory(org=org)
        call = MeetingFactory(org=org, contact=contact, scheduled_at=now - timedelta(days=150),
                              status="completed")  # fmt: skip
        PostCallFormFactory(meeting=call, offer_made=True)
        _deal(org, contact=contact, created=now - timedelta(days=150), meeting=call,
              status="won", closed=now - timedelta(days=140))  # fmt: skip
        _deal(org, created=now - timedelta(days=150), status="lost")
    open_deal = _deal(org, created=now - timedelta(days=3), status="active")
    booked_deal = _deal(org, created=now - timedelta(days=3), status="active")
    lead_call = MeetingFactory(
        org=org, contact=booked_deal.contact, scheduled_at=now + timedelta(1)
    )
    upcoming = MeetingFactory(org=org, scheduled_at=now + timedelta(days=1))

    model = forecast_train(org=org, now=now)
    assert (model.version, model.kind, model.n_outcomes, model.n_won) == (1, "fallback", 24, 12)
    assert model.reason.startswith("24 closed outcomes: the model needs 200.")
    p = {(x.deal_id, x.meeting_id): x for x in Prediction.objects.for_org(org)}
    # An open deal with no call known: the win rate of all 24 outcomes.
    assert (p[(open_deal.pk, None)].probability, p[(open_deal.pk, None)].stage) == (
        0.5,
        "deal_open",
    )
    # A booked solution call: the 12 outcomes that had one were all won.
    assert (p[(None, upcoming.pk)].probability, p[(None, upcoming.pk)].stage) == (
        1.0,
        "solution_booked",
    )
    assert p[(booked_deal.pk, None)].probability == 1.0
    assert p[(None, lead_call.pk)].probability == p[(booked_deal.pk, None)].probability
    assert model.n_scored == 4
    assert forecast_train(org=org, now=now).version == 2
    assert Prediction.objects.for_org(org).count() == 4  # replaced, not added
    assert set(Prediction.objects.for_org(org).values_list("model__version", flat=True)) == {2}


def _history(org, team, n, rng, now):
    """n closed deals over a year: Youtube leads with many touches win far more often."""
    members = [team.closer_member, team.other_closer_member]
    for i in range(n):
        source = rng.choice(["youtube", "facebook"])
        created = now - timedelta(days=100 + i % 365)
        contact = ContactFactory(org=org, original_source=source, first_seen_at=created)
        touches = rng.randint(1, 4)
        for k in range(touches):
            TouchpointFactory(contact=contact, occurred_at=created - timedelta(days=k + 1))
        won = rng.random() < (0.8 if source == "youtube" and touches > 2 else 0.15)
        _deal(org, contact=contact, created=created, status="won" if won else "lost",
              closed=created + timedelta(days=10), closer=rng.choice(members),
              value=Decimal(rng.choice([3000, 5000])))  # fmt: skip


def test_with_enough_outcomes_a_logistic_model_is_stored_as_json_and_beats_the_base_rate(team_a):
    org, now = team_a.org, timezone.now()
    _history(org, team_a, 240, random.Random(3), now)
    hot = ContactFactory(org=org, original_source="youtube")
    cold = ContactFactory(org=org, original_source="facebook")
    for k in range(4):
        TouchpointFactory(contact=hot, occurred_at=now - timedelta(days=k + 2))
    hot_deal = _deal(org, contact=hot, created=now - timedelta(days=1), status="active")
    cold_deal = _deal(org, contact=cold, created=now - timedelta(days=1), status="active")

    model = forecast_train(org=org, now=now)
    model.refresh_from_db()
    assert model.kind == ForecastModel.Kind.LOGISTIC
    assert (model.n_train, model.n_holdout) == (180, 60)
    assert model.auc > model.baseline_auc
    assert sum(b["n"] for b in model.calibration) == 60
    names = {c["name"] for c in model.params["numeric"] + model.params["categorical"]}
    assert {"channel", "touches"} <= names
    assert model.params["dropped"]["crm_confidence"] == "never recorded"
    p = dict(Prediction.objects.for_org(org).values_list("deal_id", "probability"))
    assert p[hot_deal.pk] > 0.5 > p[cold_deal.pk]


def test_the_nightly_task_trains_every_org(team_a, team_b):
    assert forecast_train_nightly.delay().get() == 2
    assert ForecastModel.objects.filter(org__in=[team_a.org, team_b.org]).count() == 2
