from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution.touch import MODELS, allocate, attribution_weights
from attribution.touch.weights import normalised, round_to_total

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _journey(*days: float) -> list[datetime]:
    return [T0 + timedelta(days=d) for d in days]


def test_first_and_last_touch_take_all_the_credit() -> None:
    journey = _journey(0, 3, 9)

    assert attribution_weights(journey, model="first") == (1, 0, 0)
    assert attribution_weights(journey, model="last") == (0, 0, 1)


def test_linear_splits_evenly_and_sums_to_exactly_one() -> None:
    weights = attribution_weights(_journey(0, 1, 2), model="linear")

    assert sum(weights) == 1
    assert max(weights) - min(weights) <= Decimal("1E-12")


def test_position_gives_40_20_40() -> None:
    assert attribution_weights(_journey(0, 1, 2), model="position") == (
        Decimal("0.4"),
        Decimal("0.2"),
        Decimal("0.4"),
    )
    assert attribution_weights(_journey(0, 1, 2, 3), model="position") == (
        Decimal("0.4"),
        Decimal("0.1"),
        Decimal("0.1"),
        Decimal("0.4"),
    )


@pytest.mark.parametrize(
    ("touches", "expected"), [(1, (1,)), (2, (Decimal("0.5"), Decimal("0.5")))]
)
def test_position_with_no_middle_shares_between_the_ends(touches: int, expected) -> None:
    assert attribution_weights(_journey(*range(touches)), model="position") == expected


def test_time_decay_halves_the_weight_every_half_life() -> None:
    weights = attribution_weights(
        _journey(0, 7, 14), model="time_decay", half_life=timedelta(days=7)
    )

    assert weights == (
        Decimal("0.142857142857"),
        Decimal("0.285714285714"),
        Decimal("0.571428571429"),
    )
    assert sum(weights) == 1


def test_time_decay_measures_age_from_the_conversion() -> None:
    weights = attribution_weights(
        _journey(0, 7),
        model="time_decay",
        half_life=timedelta(days=7),
        converted_at=T0 + timedelta(days=14),
    )

    assert weights[1] == 2 * weights[0] or abs(weights[1] - 2 * weights[0]) <= Decimal("1E-11")


def test_time_decay_survives_touches_far_older_than_the_half_life() -> None:
    weights = attribution_weights(
        _journey(0, 3650), model="time_decay", half_life=timedelta(hours=1)
    )

    assert sum(weights) == 1
    assert weights[-1] == 1


def test_an_empty_journey_has_no_weights() -> None:
    assert attribution_weights([], model="linear") == ()


def test_touchpoints_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="ordered"):
        attribution_weights(_journey(2, 1), model="linear")


def test_a_non_positive_half_life_is_refused() -> None:
    with pytest.raises(ValueError, match="half_life"):
        attribution_weights(_journey(0, 1), model="time_decay", half_life=timedelta(0))


def test_an_unknown_model_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        attribution_weights(_journey(0), model="data_driven")  # type: ignore[arg-type]


def test_allocate_splits_money_to_the_cent() -> None:
    weights = attribution_weights(_journey(0, 1, 2), model="linear")

    assert allocate(Decimal("100.00"), weights) == (
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("33.33"),
    )


@given(
    offsets=st.lists(
        st.floats(min_value=0, max_value=3650, allow_nan=False), min_size=1, max_size=30
    ),
    model=st.sampled_from(MODELS),
    half_life_hours=st.integers(min_value=1, max_value=24 * 90),
    amount=st.decimals(min_value=0, max_value=10**9, places=2),
)
def test_weights_are_non_negative_and_sum_to_exactly_one(
    offsets, model, half_life_hours, amount
) -> None:
    journey = _journey(*sorted(offsets))

    weights = attribution_weights(journey, model=model, half_life=timedelta(hours=half_life_hours))

    assert len(weights) == len(journey)
    assert all(w >= 0 for w in weights)
    assert sum(weights) == 1
    shares = allocate(amount, weights)
    assert sum(shares) == amount
    assert all(s >= 0 for s in shares)


def test_round_to_total_keeps_the_total_with_negative_shares() -> None:
    exact = [Decimal("-33.333"), Decimal("-33.333"), Decimal("16.666")]

    shares = round_to_total(exact, Decimal("-50.00"))

    assert shares == (Decimal("-33.33"), Decimal("-33.33"), Decimal("16.66"))
    assert sum(shares) == Decimal("-50.00")


def test_round_to_total_takes_quanta_back_when_the_floors_overshoot() -> None:
    shares = round_to_total([Decimal("0.004"), Decimal("0.009")], Decimal("0.00"))

    assert shares == (Decimal("0.00"), Decimal("0.00"))
    assert round_to_total([], Decimal(0)) == ()


def test_allocate_splits_a_negative_amount_to_the_cent() -> None:
    weights = attribution_weights(_journey(0, 1, 2), model="linear")

    assert sum(allocate(Decimal("-100.00"), weights)) == Decimal("-100.00")


def test_normalised_scales_to_exactly_one_and_spreads_all_zero_evenly() -> None:
    assert normalised([Decimal(1), Decimal(2), Decimal(1)]) == (
        Decimal("0.25"),
        Decimal("0.5"),
        Decimal("0.25"),
    )
    assert normalised([Decimal(0), Decimal(0)]) == (Decimal("0.5"), Decimal("0.5"))
