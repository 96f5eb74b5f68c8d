"""The rule-based models and the worked checks of ATTRIBUTION.md (seed 003)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from attribution.touch.journeys import Journey
from attribution.touch.models import MODELS, credit, touch_credit, touch_weights
from tests.attribution.touch._build import day, journey

D = Decimal
DEAL = journey("C1", "C2", "C3", value=30000)  # one day apart, converting on the day of C3


def _credited(result) -> dict[str, Decimal]:
    return {c: v.credited for c, v in result.channels.items()}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("linear", {"C1": "10000.00", "C2": "10000.00", "C3": "10000.00"}),
        ("first_touch", {"C1": "30000.00"}),
        ("last_touch", {"C3": "30000.00"}),
        ("position_based", {"C1": "12000.00", "C2": "6000.00", "C3": "12000.00"}),
    ],
)
def test_the_worked_checks_of_the_30000_deal(model: str, expected: dict[str, str]) -> None:
    result = credit([DEAL], model=model)

    assert _credited(result) == {c: D(v) for c, v in expected.items()}
    assert result.total == D("30000.00")


def test_time_decay_with_a_one_day_half_life_keeps_exact_weights() -> None:
    result = credit([DEAL], model="time_decay", half_life_days=1)

    # The seed rounds the weights first and prints 4,290 / 8,580 / 17,130: we do not.
    assert _credited(result) == {
        "C1": D("4285.71"),
        "C2": D("8571.43"),
        "C3": D("17142.86"),
    }
    assert touch_credit(DEAL, model="time_decay", half_life_days=1) == (
        D("4285.71"),
        D("8571.43"),
        D("17142.86"),
    )


def test_time_decay_counts_days_to_the_conversion_not_to_the_last_touch() -> None:
    later = journey("a", "b", value=300, days=(0, 1), converted_day=3)

    weights = touch_weights(later, model="time_decay", half_life_days=1)

    # 2^-3 and 2^-2, normalised: a third and two thirds.
    assert weights == (D("0.333333333333"), D("0.666666666667"))


def test_time_decay_default_half_life_is_seven_days() -> None:
    given = journey("a", "b", value=300, days=(0, 7))

    assert touch_weights(given, model="time_decay") == (
        touch_weights(given, model="time_decay", half_life_days=7)
    )
    assert [round(w, 6) for w in touch_weights(given, model="time_decay")] == [
        round(D(1) / 3, 6),
        round(D(2) / 3, 6),
    ]


def test_a_non_positive_half_life_is_refused() -> None:
    with pytest.raises(ValueError, match="half_life"):
        credit([DEAL], model="time_decay", half_life_days=0)


def test_last_non_direct_skips_direct_touches_at_the_end() -> None:
    given = journey("meta", "google", "direct", "direct", value=100)

    assert touch_weights(given, model="last_non_direct") == (D(0), D(1), D(0), D(0))


def test_last_non_direct_gives_an_all_direct_journey_to_its_last_touch() -> None:
    given = journey("direct", "direct", value=100)

    assert touch_weights(given, model="last_non_direct") == (D(0), D(1))


@pytest.mark.parametrize(
    ("touches", "expected"),
    [(1, ("1",)), (2, ("0.5", "0.5")), (4, ("0.4", "0.1", "0.1", "0.4"))],
)
def test_position_based_with_one_two_and_four_touches(touches: int, expected: tuple) -> None:
    given = journey(*["a"] * touches, value=100)

    assert touch_weights(given, model="position_based") == tuple(D(w) for w in expected)


def test_w_shaped_gives_30_percent_to_each_milestone_and_10_to_the_rest() -> None:
    given = journey(
        "meta", "google", "email", "youtube", "direct", value=1000,
        milestones=("lead", None, "triage", None, "solution"),
    )  # fmt: skip

    assert touch_weights(given, model="w_shaped") == (
        D("0.3"), D("0.05"), D("0.3"), D("0.05"), D("0.3"),
    )  # fmt: skip
    assert touch_credit(given, model="w_shaped") == (
        D("300.00"), D("50.00"), D("300.00"), D("50.00"), D("300.00"),
    )  # fmt: skip


def test_w_shaped_gives_a_missing_milestone_share_to_the_first_touch() -> None:
    given = journey("meta", "google", "email", value=1000, milestones=(None, "triage", None))

    # lead (not marked: the first touch) and solution (missing) both go to the first touch.
    assert touch_weights(given, model="w_shaped") == (D("0.6"), D("0.3"), D("0.1"))


def test_w_shaped_spreads_the_rest_over_the_milestones_when_every_touch_holds_one() -> None:
    three = journey("a", "b", "c", value=90, milestones=("lead", "triage", "solution"))
    two = journey("a", "b", value=90, milestones=("lead", "triage"))

    assert touch_weights(three, model="w_shaped") == (
        D("0.333333333334"), D("0.333333333333"), D("0.333333333333"),
    )  # fmt: skip
    assert [round(w, 9) for w in touch_weights(two, model="w_shaped")] == [
        round(D(2) / 3, 9),
        round(D(1) / 3, 9),
    ]
    assert touch_weights(journey("a", value=1), model="w_shaped") == (D(1),)


def test_the_lead_milestone_is_the_first_touch_marked_lead() -> None:
    given = journey("a", "b", "c", "d", value=100, milestones=(None, "lead", "solution", None))

    # The first touch holds the missing triage share, so the rest is only the last touch.
    assert touch_weights(given, model="w_shaped") == (D("0.3"), D("0.3"), D("0.3"), D("0.1"))


def test_campaigns_split_their_channel_and_add_up_to_it() -> None:
    given = journey("meta", "meta", "google", value=100, campaigns=("cold", "warm", "brand"))

    result = credit([given], model="linear")

    assert result.campaigns[("meta", "cold")].credited == D("33.34")
    assert result.campaigns[("meta", "warm")].credited == D("33.33")
    assert result.channels["meta"].credited == D("66.67")
    assert result.channels["google"].credited == D("33.33")


def test_journeys_that_did_not_convert_earn_nothing_in_rule_models() -> None:
    result = credit([journey("meta", "google"), journey("email", value=50)], model="linear")

    assert _credited(result) == {"email": D("50.00")}
    assert result.conversions == 1


def test_a_conversion_without_touches_is_credited_to_direct() -> None:
    given = Journey("k", (), day(3), D("99.99"))

    for model in MODELS:
        result = credit([given], model=model, min_journeys=1)
        assert _credited(result) == {"direct": D("99.99")}, model
        assert result.channels["direct"].conversions == 1


def test_a_refund_larger_than_the_payment_credits_negative_money_that_still_adds_up() -> None:
    journeys = [journey("a", "b", "c", value="-100.00"), journey("a", value="50.00", key="2")]

    result = credit(journeys, model="linear")

    assert result.total == D("-50.00")
    assert _credited(result) == {"a": D("16.66"), "b": D("-33.33"), "c": D("-33.33")}
    assert sum(_credited(result).values()) == result.total


def test_values_are_rounded_to_the_cent_before_crediting() -> None:
    result = credit([journey("a", "b", value="10.005")], model="linear")

    assert result.total == D("10.00")
    assert sum(_credited(result).values()) == D("10.00")


def test_unknown_models_are_refused_and_data_driven_ones_have_no_touch_weights() -> None:
    with pytest.raises(ValueError, match="unknown"):
        credit([DEAL], model="data_driven")
    with pytest.raises(ValueError, match="unknown"):
        touch_weights(DEAL, model="u_shaped")
    with pytest.raises(ValueError, match="credit"):
        touch_weights(DEAL, model="markov")


def test_touches_out_of_order_are_refused() -> None:
    given = journey("a", "b", value=1, days=(2, 1), converted_day=2)

    for model in ("time_decay", "linear"):
        with pytest.raises(ValueError, match="oldest first"):
            touch_weights(given, model=model)
