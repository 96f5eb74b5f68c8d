"""Deal probability, pure: the fallback below 200 outcomes, a logistic model that learns the
signal there is, prediction from the stored JSON alone, and its holdout figures."""

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.forecast.features import FeatureRow, Outcome
from attribution.forecast.metrics import (
    auc,
    auc_standard_error,
    brier,
    calibration,
    clearly_better,
)
from attribution.forecast.model import MIN_OUTCOMES, predict, stage_rates, train

START = datetime(2025, 1, 1, tzinfo=UTC)


def _history(n: int, *, signal: bool, seed: int = 1) -> list[Outcome]:
    """n closed outcomes, one a day; with signal, offers, touches and one channel win more."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        channel = rng.choice(["facebook", "youtube", "google"])
        touches = rng.randint(1, 8)
        offer = rng.random() < 0.5
        attended = offer or rng.random() < 0.5
        row = FeatureRow(
            channel=channel,
            campaign=rng.choice(["a", "b"]),
            touches=touches,
            days_since_first_touch=rng.uniform(0, 60),
            triage_attended=rng.random() < 0.7,
            solution_booked=True,
            solution_attended=attended,
            offer_made=offer,
            deal_value=rng.choice([3000, 5000, 8000]),
            closer=rng.choice(["1", "2", "3"]),
        )
        if signal:
            logit = -2.0 + 0.5 * touches + (1.5 if channel == "youtube" else -0.5)
            p = 1 / (1 + np.exp(-logit))
        else:
            p = 0.3
        out.append(Outcome(features=row, won=rng.random() < p, settled_at=START + timedelta(i)))
    return out


# --- given fewer than 200 outcomes, when trained, then the stage fallback is used -------------


def test_below_200_outcomes_it_falls_back_to_the_stage_win_rate():
    history = _history(MIN_OUTCOMES - 1, signal=True)
    trained = train(history)
    assert trained.kind == "fallback"
    assert "199 closed outcomes" in trained.reason
    offers = [o for o in history if o.features.offer_made]
    expected = sum(o.won for o in offers) / len(offers)
    p = predict(trained.params, [FeatureRow(solution_booked=True, offer_made=True)])
    assert p[0] == expected


def test_at_200_outcomes_with_both_results_it_trains_a_logistic_model():
    trained = train(_history(MIN_OUTCOMES, signal=True))
    assert trained.kind == "logistic"
    assert trained.evaluation.n_train + trained.evaluation.n_holdout == MIN_OUTCOMES
    assert trained.evaluation.n_holdout == 50


def test_all_won_is_a_fallback_however_many():
    history = [Outcome(o.features, True, o.settled_at) for o in _history(300, signal=False)]
    trained = train(history)
    assert trained.kind == "fallback"
    assert "all 300 closed outcomes were won" in trained.reason


def test_a_stage_with_few_outcomes_borrows_the_overall_rate():
    history = [
        Outcome(FeatureRow(solution_booked=True), i % 2 == 0, START + timedelta(i))
        for i in range(20)
    ] + [Outcome(FeatureRow(solution_booked=True, offer_made=True), True, START)] * 3
    rates = stage_rates(history)
    assert rates["stages"]["offer_made"] == {"n": 3, "won": 3, "rate": 13 / 23, "borrowed": True}
    assert rates["stages"]["solution_booked"]["rate"] == 13 / 23
    assert rates["stages"]["deal_open"]["n"] == 23


def test_with_no_outcome_at_all_the_fallback_has_no_probability_to_give():
    trained = train([])
    assert trained.kind == "fallback"
    assert np.isnan(predict(trained.params, [FeatureRow()])[0])


# --- given features with signal, the model beats the stage base rate on the newest outcomes ---


def test_a_model_trained_on_data_with_signal_beats_the_stage_base_rate():
    trained = train(_history(2000, signal=True))
    e = trained.evaluation
    assert trained.kind == "logistic"
    assert e.auc > e.baseline_auc + 0.1
    assert e.brier < e.baseline_brier
    assert clearly_better(e.auc, e.baseline_auc, e.calibration)


def test_without_signal_the_model_does_not_pretend_to_beat_the_base_rate():
    e = train(_history(2000, signal=False)).evaluation
    assert abs(e.auc - 0.5) < 0.08
    assert e.brier >= e.baseline_brier - 0.01
    assert not clearly_better(e.auc, e.baseline_auc, e.calibration)


def test_the_holdout_is_the_newest_quarter_of_outcomes():
    # Outcomes that flip from lost to won in the last quarter: a holdout of the newest ones
    # sees only wins; a shuffled one would also see losses.
    history = _history(400, signal=False)
    history = [Outcome(o.features, i >= 300, o.settled_at) for i, o in enumerate(history)]
    trained = train(list(reversed(history)))
    assert trained.kind == "fallback"  # the older three quarters were all lost
    assert trained.evaluation.n_holdout == 100
    assert trained.evaluation.calibration[-1]["observed"] == 1.0
    assert sum(b["observed"] * b["n"] for b in trained.evaluation.calibration) == 100


def test_constant_and_empty_features_are_left_out():
    history = [
        Outcome(replace(o.features, triage_attended=True, closer="7"), o.won, o.settled_at)
        for o in _history(400, signal=True)
    ]
    trained = train(history)
    dropped = trained.params["dropped"]
    assert dropped == {
        "crm_confidence": "never recorded",
        "triage_attended": "the same for every outcome",
        "closer": "the same for every outcome",
    }
    used = {c["name"] for c in trained.params["numeric"] + trained.params["categorical"]}
    assert {"touches", "channel", "campaign", "offer_made", "deal_value"} <= used


def test_the_model_is_plain_json_and_predicts_the_same_after_a_round_trip():
    trained = train(_history(600, signal=True))
    stored = json.loads(json.dumps(trained.params))
    rows = [o.features for o in _history(50, signal=True, seed=9)]
    assert np.allclose(predict(stored, rows), predict(trained.params, rows))


def test_probabilities_are_on_the_base_rate_despite_balanced_weights():
    history = _history(3000, signal=True)
    trained = train(history)
    p = predict(trained.params, [o.features for o in history])
    assert abs(p.mean() - np.mean([o.won for o in history])) < 0.03


def test_unseen_categories_and_missing_values_still_get_a_probability():
    trained = train(_history(600, signal=True))
    p = predict(trained.params, [FeatureRow(channel="tiktok", closer="99", deal_value=None)])
    assert 0 < p[0] < 1


# --- metrics ------------------------------------------------------------------------------


def test_auc_of_a_perfect_ranking_is_one_and_ties_count_half():
    assert auc([False, False, True, True], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert auc([False, True], [0.5, 0.5]) == 0.5
    assert auc([True, True], [0.1, 0.2]) is None


def test_the_auc_standard_error_shrinks_with_more_outcomes():
    # Hanley and McNeil's table: AUC 0.8 over 50 and 50 has a standard error near 0.044.
    assert auc_standard_error(0.8, 50, 50) == pytest.approx(0.0438, abs=0.001)
    assert auc_standard_error(0.8, 500, 500) < auc_standard_error(0.8, 50, 50)


def test_a_gap_inside_the_noise_is_not_clearly_better():
    bins = [{"n": 10, "observed": 0.5}] * 2  # 10 wins, 10 losses
    assert not clearly_better(0.62, 0.55, bins)
    assert clearly_better(0.95, 0.55, bins)
    assert not clearly_better(None, 0.55, bins)


def test_brier_of_certain_right_answers_is_zero():
    assert brier([True, False], [1.0, 0.0]) == 0.0
    assert brier([True], [0.0]) == 1.0


def test_a_bin_of_equal_predictions_predicts_exactly_that():
    table = calibration([False] * 3, [0.2154834736182128] * 3, 1)
    assert table[0]["predicted"] == 0.2154834736182128


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=0, max_size=300),
    st.integers(1, 12),
)
def test_calibration_bins_hold_every_row_once(pairs, bins):
    won = [w for w, _ in pairs]
    p = [q for _, q in pairs]
    table = calibration(won, p, bins)
    assert sum(b["n"] for b in table) == len(pairs)
    assert len(table) == min(bins, len(pairs))
    assert round(sum(b["observed"] * b["n"] for b in table)) == sum(won)
    for b in table:
        assert b["low"] <= b["predicted"] <= b["high"]


@st.composite
def _feature_rows(draw):
    none_or = st.none() | st.floats(0, 1e7)
    return FeatureRow(
        channel=draw(st.sampled_from(["facebook", "youtube", "", "tiktok"])),
        campaign=draw(st.text(max_size=5)),
        touches=draw(st.integers(0, 10_000)),
        days_since_first_touch=draw(none_or),
        triage_attended=draw(st.booleans()),
        solution_booked=draw(st.booleans()),
        solution_attended=draw(st.booleans()),
        offer_made=draw(st.booleans()),
        deal_value=draw(none_or),
        crm_confidence=draw(st.none() | st.floats(0, 100)),
        closer=draw(st.sampled_from(["1", "2", "3", "77"])),
    )


TRAINED = {
    "logistic": train(_history(400, signal=True)),
    "fallback": train(_history(120, signal=True)),
}


@settings(max_examples=80, deadline=None)
@given(st.lists(_feature_rows(), min_size=1, max_size=30), st.sampled_from(sorted(TRAINED)))
def test_probabilities_are_always_between_zero_and_one(rows, kind):
    p = predict(TRAINED[kind].params, rows)
    assert TRAINED[kind].kind == kind
    assert len(p) == len(rows)
    assert ((p >= 0) & (p <= 1)).all()
