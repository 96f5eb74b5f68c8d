from __future__ import annotations

from decimal import Decimal

import pytest

from attribution.touch.journeys import Journey, Touch, in_window
from tests.attribution.touch._build import day, journey


def test_the_lookback_drops_older_touches_and_keeps_the_boundary() -> None:
    given = journey("meta", "google", "email", value=100, days=(0, 10, 100), converted_day=100)

    windowed = in_window(given, lookback_days=90)

    assert [t.channel for t in windowed.touches] == ["google", "email"]  # day 10 is 90 days back


def test_touches_after_the_conversion_never_count() -> None:
    given = journey("meta", "google", value=100, days=(1, 5), converted_day=3)

    assert [t.channel for t in in_window(given).touches] == ["meta"]


def test_a_touch_at_the_conversion_moment_counts() -> None:
    given = journey("meta", value=100, days=(3,), converted_day=3)

    assert [t.channel for t in in_window(given).touches] == ["meta"]


def test_a_conversion_with_no_touch_in_the_window_is_direct_at_the_conversion() -> None:
    given = journey("meta", value=100, days=(0,), converted_day=200)

    windowed = in_window(given, lookback_days=90)

    assert windowed.touches == (Touch(at=day(200), channel="direct", kind="conversion"),)
    assert windowed.value == Decimal(100)
    assert windowed.key == given.key


def test_touches_come_back_oldest_first() -> None:
    given = Journey(
        "k", (Touch(day(5), "b"), Touch(day(1), "a"), Touch(day(5), "c")), day(6), Decimal(1)
    )

    assert [t.channel for t in in_window(given).touches] == ["a", "b", "c"]


def test_a_journey_that_did_not_convert_keeps_every_touch_it_was_given() -> None:
    given = journey("b", "a", days=(300, 0))

    windowed = in_window(given, lookback_days=1)

    assert [t.channel for t in windowed.touches] == ["a", "b"]
    assert windowed.converted_at is None
    assert in_window(Journey("empty", (), None)).touches == ()


def test_a_negative_lookback_is_refused() -> None:
    with pytest.raises(ValueError, match="lookback"):
        in_window(journey("a", value=1), lookback_days=-1)


@pytest.mark.parametrize(("kind", "milestone"), [("email", None), ("form", "deal")])
def test_unknown_kinds_and_milestones_are_refused(kind: str, milestone: str | None) -> None:
    with pytest.raises(ValueError, match="unknown"):
        Touch(day(0), "meta", kind=kind, milestone=milestone)
