"""Deal probability on the pages: /forecast/ for managers, the probability column of the deals
and calls lists, the rep portal's own deals and calls, the dashboard's weighted pipeline; other
orgs' and other reps' probabilities never show."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.forecast.models import ForecastModel, Prediction
from apps.orgs.models import AuditLog
from tests.factories import DealFactory, MeetingFactory

pytestmark = pytest.mark.django_db


def _model(org, **kwargs):
    fields = {"version": 1, "trained_at": timezone.now(), "kind": "fallback", "params": {}}
    return ForecastModel.objects.create(org=org, **(fields | kwargs))


def _scored(model, probability, **target):
    return Prediction.objects.create(
        org=model.org, model=model, probability=probability, stage="deal_open",
        scored_at=timezone.now(), **target,
    )  # fmt: skip


@pytest.fixture
def pipeline(team_a):
    """Closer A's open deal (73%), another closer's open deal (41%), a won deal, an upcoming
    solution call of closer A (64%) and one of the other closer (18%)."""
    org = team_a.org
    model = _model(org)
    mine = DealFactory(org=org, status="active", closed_at=None, value=Decimal("10000"),
                       closer=team_a.closer_member)  # fmt: skip
    theirs = DealFactory(org=org, status="active", closed_at=None, value=Decimal("5000"),
                         closer=team_a.other_closer_member)  # fmt: skip
    DealFactory(org=org, status="won", value=Decimal("7777"), closer=team_a.closer_member)
    soon = timezone.now() + timedelta(days=3)
    my_call = MeetingFactory(org=org, closer=team_a.closer_member, scheduled_at=soon)
    their_call = MeetingFactory(org=org, closer=team_a.other_closer_member, scheduled_at=soon)
    _scored(model, 0.73, deal=mine)
    _scored(model, 0.41, deal=theirs)
    _scored(model, 0.64, meeting=my_call)
    _scored(model, 0.18, meeting=their_call)
    return model


def _get(client, user, name, **params):
    client.force_login(user)
    response = client.get(reverse(name), params)
    assert response.status_code == 200
    return response.content.decode()


# --- /forecast/ ---------------------------------------------------------------------------


def test_a_manager_sees_no_model_yet_and_can_start_training(
    client, team_a, django_capture_on_commit_callbacks
):
    body = _get(client, team_a.manager, "forecast:page")
    assert "No model yet" in body
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("forecast:train"))
    assert response.status_code == 302
    model = ForecastModel.objects.get(org=team_a.org)
    assert model.kind == "fallback"
    assert AuditLog.objects.filter(org=team_a.org, action="forecast.train_requested").exists()
    body = _get(client, team_a.manager, "forecast:page")
    assert "Version 1: Stage win rate (fallback)" in body
    assert "0 closed outcomes: the model needs 200." in body


def test_the_page_shows_the_holdout_figures_the_baseline_and_the_calibration(client, team_a):
    bins = [
        {"decile": i, "n": 6, "predicted": i / 10, "observed": i / 11, "low": 0, "high": 1}
        for i in range(1, 11)
    ]
    _model(
        team_a.org, kind="logistic", reason="240 closed outcomes (at least 200): logistic.",
        auc=0.8123, brier=0.1402, baseline_auc=0.5311, baseline_brier=0.2004, calibration=bins,
        n_train=180, n_holdout=60, n_outcomes=240,
        params={"kind": "logistic", "numeric": [{"name": "touches", "coef": 0.61}],
                "categorical": [], "dropped": {"crm_confidence": "never recorded"},
                "stages": {"deal_open": {"n": 240, "won": 70, "rate": 70 / 240,
                                         "borrowed": False}}},
    )  # fmt: skip
    body = _get(client, team_a.manager, "forecast:page")
    assert 'data-kind="logistic"' in body
    assert "0.812" in body and "0.140" in body and "0.531" in body and "0.200" in body
    assert "ranks the holdout better than the stage win rate" in body
    assert 'id="fig-calibration"' in body
    assert body.count("<tr><td>") >= 10  # a table row per decile beside the chart
    assert "weight +0.61 per standard deviation" in body and "never recorded" in body
    assert "29%" in body  # 70 of 240 won at the first stage


def test_a_model_that_does_not_beat_the_baseline_says_so(client, team_a):
    _model(team_a.org, kind="logistic", auc=0.49, baseline_auc=0.52, n_holdout=60)
    body = _get(client, team_a.manager, "forecast:page")
    assert "does not beat the stage win rate" in body


@pytest.mark.parametrize("role", ["closer", "setter", "viewer"])
def test_reps_and_viewers_may_not_open_the_forecast_page(client, team_a, role):
    client.force_login(getattr(team_a, role))
    assert client.get(reverse("forecast:page")).status_code == 403
    assert client.post(reverse("forecast:train")).status_code == 403
    assert not ForecastModel.objects.exists()


def test_training_is_post_only(client, team_a):
    client.force_login(team_a.manager)
    assert client.get(reverse("forecast:train")).status_code == 405


def test_another_orgs_model_never_shows(client, team_a, outsider, pipeline):
    body = _get(client, outsider, "forecast:page")
    assert "No model yet" in body


# --- the lists ----------------------------------------------------------------------------


def test_the_deals_list_shows_open_deals_probabilities(client, team_a, pipeline):
    body = _get(client, team_a.manager, "deals:list", preset="all")
    assert "Win prob." in body
    assert "73%" in body and "41%" in body


def test_a_closer_sees_the_probability_of_their_own_deals_and_calls_only(client, team_a, pipeline):
    deals = _get(client, team_a.closer, "deals:list")
    assert "73%" in deals and "41%" not in deals
    calls = _get(client, team_a.closer, "meetings:list")
    assert "64%" in calls and "18%" not in calls
    portal = _get(client, team_a.closer, "rep:portal")
    assert "My open deals" in portal
    assert "73%" in portal and "64%" in portal
    assert "41%" not in portal and "18%" not in portal and "$5,000.00" not in portal


def test_the_calls_list_shows_the_probability_of_upcoming_solution_calls(client, team_a, pipeline):
    body = _get(client, team_a.manager, "meetings:list")
    assert "64%" in body and "18%" in body


def test_an_outsiders_lists_show_none_of_org_as_probabilities(client, outsider, pipeline):
    for name in ("deals:list", "meetings:list", "kpis:dashboard"):
        body = _get(client, outsider, name)
        assert "73%" not in body and "64%" not in body


# --- the dashboard ------------------------------------------------------------------------


def test_the_dashboard_shows_the_probability_weighted_pipeline(client, team_a, pipeline):
    body = _get(client, team_a.manager, "kpis:dashboard")
    # 10,000 × 0.73 + 5,000 × 0.41; the won deal is not pipeline.
    assert "$9,350.00" in body
    assert "of $15,000.00 in 2 open deals" in body


def test_a_closers_dashboard_weighs_their_own_pipeline(client, team_a, pipeline):
    body = _get(client, team_a.closer, "kpis:dashboard")
    assert "$7,300.00" in body and "of $10,000.00 in 1 open deal" in body
    assert "$9,350.00" not in body


def test_an_unscored_open_deal_counts_in_the_open_value_only(client, team_a, pipeline):
    DealFactory(org=team_a.org, status="active", closed_at=None, value=Decimal("1000"))
    body = _get(client, team_a.manager, "kpis:dashboard")
    assert "$9,350.00" in body and "of $16,000.00 in 3 open deals · 1 not scored yet" in body
