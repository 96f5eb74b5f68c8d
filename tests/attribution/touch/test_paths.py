from __future__ import annotations

from decimal import Decimal

from attribution.touch.journeys import Journey
from attribution.touch.paths import PathStat, collapse, top_paths
from tests.attribution.touch._build import day, journey

D = Decimal


def test_consecutive_repeats_are_one_step_of_a_path() -> None:
    assert collapse(["meta", "meta", "google", "meta"]) == ("meta", "google", "meta")
    assert collapse([]) == ()


def test_top_paths_count_value_days_and_touches_of_converting_journeys() -> None:
    journeys = [
        journey("meta", "meta", "google", value=100, days=(0, 1, 2), converted_day=4, key="1"),
        journey("meta", "google", value=300, days=(0, 5), converted_day=6, key="2"),
        journey("google", value=1000, key="3"),
        journey("meta", "google", key="lost"),  # did not convert
        Journey("bare", (), day(2), D(50)),  # no touch: direct, as every model credits it
    ]

    paths = top_paths(journeys)

    assert paths == [
        PathStat(("meta", "google"), 2, D("400.00"), D("5.00"), D("2.50")),
        PathStat(("google",), 1, D("1000.00"), D("0.00"), D("1.00")),
        PathStat(("direct",), 1, D("50.00"), D("0.00"), D("1.00")),
    ]
    assert paths[0].label == "meta > google"


def test_top_paths_stop_at_the_limit() -> None:
    journeys = [journey(c, value=1, key=c) for c in "abcde"]

    assert [p.channels for p in top_paths(journeys, limit=2)] == [("a",), ("b",)]
