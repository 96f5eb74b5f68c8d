"""Markov removal effect and Shapley value: the worked checks, hand-solved chains, exactness."""

from __future__ import annotations

import math
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from itertools import permutations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.touch.models import (
    credit,
    markov_conversion_probability,
    markov_removal_effects,
    shapley_values,
)
from tests.attribution.touch._build import journey

D = Decimal
TWO = [journey("A", "B", value=100, key="1"), journey("A", key="2")]  # A->B->conv, A->null


def test_markov_worked_check_two_journeys() -> None:
    assert markov_conversion_probability(TWO, min_journeys=1) == 0.5
    assert markov_conversion_probability(TWO, min_journeys=1, without="A") == 0
    assert markov_conversion_probability(TWO, min_journeys=1, without="B") == 0
    assert markov_removal_effects(TWO, min_journeys=1) == {"A": D(1), "B": D(1)}

    result = credit(TWO, model="markov", min_journeys=1)

    assert {c: v.credited for c, v in result.channels.items()} == {"A": D("50.00"), "B": D("50.00")}
    assert {c: v.conversions for c, v in result.channels.items()} == {"A": D("0.5"), "B": D("0.5")}


def test_markov_on_a_chain_solved_by_hand() -> None:
    journeys = [
        journey("A", value=10, key="1"),
        journey("B", key="2"),
        journey("B", "A", value=10, key="3"),
        journey("A", key="4"),
    ]
    # start -> A 1/2, B 1/2; A -> conversion 2/3; B -> A 1/2, null 1/2.
    # P = 1/2 * 2/3 + 1/2 * 1/2 * 2/3 = 1/2; without A: 0; without B: 1/3.

    assert markov_conversion_probability(journeys, min_journeys=1) == pytest.approx(0.5)
    assert markov_conversion_probability(journeys, min_journeys=1, without="B") == pytest.approx(
        1 / 3
    )
    assert markov_removal_effects(journeys, min_journeys=1) == {
        "A": D("1.000000000000"),
        "B": D("0.333333333333"),
    }
    result = credit(journeys, model="markov", min_journeys=1, labels={"B": "Bing"})
    assert result.channels["A"].credited == D("15.00")  # 3/4 of 20
    assert result.channels["B"].credited == D("5.00")
    assert result.explanations == {
        "A": "Without A, 100% of conversions would be lost",
        "B": "Without Bing, 33% of conversions would be lost",
    }


def test_markov_repeated_touches_of_one_channel_change_nothing() -> None:
    once = [journey("A", "B", value=1, key="1"), journey("A", key="2")]
    repeated = [journey("A", "A", "B", "B", value=1, key="1"), journey("A", "A", key="2")]

    assert markov_removal_effects(repeated, min_journeys=1) == markov_removal_effects(
        once, min_journeys=1
    )


def test_markov_pools_rare_channels_as_other() -> None:
    journeys = [journey("meta", value=10, key=str(i)) for i in range(3)] + [
        journey("podcast", "meta", value=10, key="p", campaigns=("ep1", "cold")),
        journey("tiktok", key="t", campaigns=("dance",)),
    ]

    result = credit(journeys, model="markov", min_journeys=2)

    assert result.pooled == ("podcast", "tiktok")
    assert set(result.channels) == {"meta", "other"}
    assert set(markov_removal_effects(journeys, min_journeys=2)) == {"meta", "other"}
    other = [k for k in result.campaigns if k[0] == "other"]
    assert other == [("other", "ep1")]
    assert sum(result.campaigns[k].credited for k in other) == result.channels["other"].credited


def test_markov_without_any_conversion_credits_nothing() -> None:
    journeys = [journey("a", key="1"), journey("b", "a", key="2")]

    assert markov_removal_effects(journeys, min_journeys=1) == {"a": D(0), "b": D(0)}
    result = credit(journeys, model="markov", min_journeys=1)
    assert result.total == 0
    assert result.channels == {}


def test_markov_results_repeat_exactly() -> None:
    journeys = [
        journey(*path, value=v, key=str(i))
        for i, (path, v) in enumerate(
            [(("a", "b"), 5), (("b",), None), (("c", "a"), 7), (("a",), None), (("c",), 3)] * 4
        )
    ]

    first = credit(journeys, model="markov", min_journeys=1)

    assert credit(list(reversed(journeys)), model="markov", min_journeys=1) == first


def test_markov_splits_a_channel_over_its_campaigns_by_value_weighted_touches() -> None:
    journeys = [
        journey("meta", value=300, key="1", campaigns=("cold",)),
        journey("meta", "meta", value=100, key="2", campaigns=("cold", "warm")),
        journey("meta", key="3", campaigns=("never",)),
    ]

    result = credit(journeys, model="markov", min_journeys=1)

    # cold: 300 + 100/2, warm: 100/2 -> 7/8 and 1/8 of 400; "never" converted nothing.
    assert result.campaigns[("meta", "cold")].credited == D("350.00")
    assert result.campaigns[("meta", "warm")].credited == D("50.00")
    assert ("meta", "never") not in result.campaigns


def test_shapley_worked_check() -> None:
    journeys = [journey("A", "B", value=1)]  # v({A,B}) = 1, v({A}) = v({B}) = 0

    assert shapley_values(journeys) == {"A": D("0.5"), "B": D("0.5")}
    assert shapley_values(journeys, by="conversions") == {"A": D("0.5"), "B": D("0.5")}
    result = credit(journeys, model="shapley")
    assert {c: v.credited for c, v in result.channels.items()} == {"A": D("0.50"), "B": D("0.50")}
    assert result.explanations["A"] == (
        "A's average added value across every order of channels is 50% of revenue"
    )


def test_shapley_sentences_name_the_value() -> None:
    journeys = [journey("youtube", value=82, key="1"), journey("youtube", "meta", value=36)]

    result = credit(journeys, model="shapley", value_label="net cash", labels={"meta": "Meta"})

    assert result.explanations == {
        "meta": "Meta's average added value across every order of channels is 15% of net cash",
        "youtube": "youtube's average added value across every order of channels is 85% of "
        "net cash",
    }


def test_shapley_pools_channels_beyond_max_players() -> None:
    journeys = [
        journey("a", value=10, key="1"),
        journey("a", "b", value=10, key="2"),
        journey("a", "c", value=10, key="3"),
        journey("c", value=10, key="4"),
    ]

    values = shapley_values(journeys, max_players=2)

    # a (3 journeys) stays; b and c (ties broken by name) become "other"
    assert values == {"a": D(20), "other": D(20)}
    assert credit(journeys, model="shapley", max_players=2).pooled == ("b", "c")
    with pytest.raises(ValueError, match="max_players"):
        shapley_values(journeys, max_players=0)


def _brute_force_shapley(journeys) -> dict[str, Fraction]:
    """The textbook definition: average marginal value over every order of the players."""
    players = sorted({t.channel for j in journeys if j.converted_at for t in j.touches})

    def v(coalition) -> Fraction:
        return sum(
            (
                Fraction(j.value)
                for j in journeys
                if j.converted_at and {t.channel for t in j.touches} <= coalition
            ),
            Fraction(0),
        )

    totals: dict[str, Fraction] = defaultdict(Fraction)
    for order in permutations(players):
        seen: set[str] = set()
        for player in order:
            before = v(seen)
            seen.add(player)
            totals[player] += v(seen) - before
    return {p: totals[p] / math.factorial(len(players)) for p in players}


_paths = st.lists(
    st.tuples(
        st.lists(st.sampled_from("abcde"), min_size=1, max_size=5),
        st.one_of(st.none(), st.integers(min_value=0, max_value=10_000)),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(paths=_paths)
def test_shapley_subset_formula_equals_the_average_over_every_order(paths) -> None:
    journeys = [journey(*channels, value=v, key=str(i)) for i, (channels, v) in enumerate(paths)]

    values = shapley_values(journeys)

    expected = _brute_force_shapley(journeys)
    assert set(values) == set(expected)
    for player, phi in expected.items():
        assert abs(Fraction(values[player]) - phi) <= Fraction(1, 10**12)


@settings(max_examples=30, deadline=None)
@given(paths=_paths)
def test_shapley_values_add_up_to_the_value_of_every_channel_together(paths) -> None:
    journeys = [journey(*channels, value=v, key=str(i)) for i, (channels, v) in enumerate(paths)]
    converting = [j for j in journeys if j.converted_at]

    assert sum(shapley_values(journeys).values()) == sum(j.value for j in converting)
    assert sum(shapley_values(journeys, by="conversions").values()) == len(converting)


def test_shapley_is_exact_with_fifteen_players() -> None:
    channels = [f"c{i:02}" for i in range(15)]
    journeys = [journey(*channels, value="1.00")]

    values = shapley_values(journeys)

    assert sum(values.values()) == D(1)
    assert all(abs(phi - D(1) / 15) <= D("1E-12") for phi in values.values())
