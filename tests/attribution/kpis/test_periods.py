"""Dashboard presets and the period each compares with."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution.kpis.periods import PRESETS, preset_period, previous_period

TODAY = date(2026, 12, 4)


@pytest.mark.parametrize(
    ("preset", "period"),
    [
        ("today", (TODAY, TODAY)),
        ("yesterday", (date(2026, 12, 3), date(2026, 12, 3))),
        ("last_7", (date(2026, 11, 28), TODAY)),
        ("last_30", (date(2026, 11, 5), TODAY)),
        ("mtd", (date(2026, 12, 1), TODAY)),
        ("last_month", (date(2026, 11, 1), date(2026, 11, 30))),
        ("qtd", (date(2026, 10, 1), TODAY)),
        ("ytd", (date(2026, 1, 1), TODAY)),
    ],
)
def test_presets(preset, period):
    assert preset_period(preset, TODAY) == period


@pytest.mark.parametrize(
    ("period", "previous"),
    [
        # Month to date compares with the same days of last month, not the end of November.
        ((date(2026, 12, 1), TODAY), (date(2026, 11, 1), date(2026, 11, 4))),
        ((date(2026, 11, 1), date(2026, 11, 30)), (date(2026, 10, 1), date(2026, 10, 31))),
        ((date(2026, 10, 1), TODAY), (date(2026, 7, 1), date(2026, 9, 4))),
        ((date(2026, 1, 1), TODAY), (date(2025, 1, 1), date(2025, 12, 4))),
        ((date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 2, 1), date(2026, 2, 28))),
        ((date(2026, 11, 28), TODAY), (date(2026, 11, 21), date(2026, 11, 27))),
        ((TODAY, TODAY), (date(2026, 12, 3), date(2026, 12, 3))),
    ],
)
def test_the_period_compared_with(period, previous):
    assert previous_period(*period) == previous


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    st.integers(min_value=0, max_value=800),
)
def test_the_previous_period_ends_before_it_starts_and_is_no_longer(start, days):
    end = start + timedelta(days=days)
    first, last = previous_period(start, end)
    assert first <= last < start
    # A month, quarter or year to date compares with the same days of the span before: through
    # the end of February is through the end of November, up to 3 days longer (28 vs 31).
    slack = 3 if start.day == 1 else 0
    assert (last - first).days <= (end - start).days + slack


def test_every_preset_but_month_and_custom_resolves_to_a_period_ending_by_today():
    for preset, _ in PRESETS:
        if preset in ("month", "custom"):
            continue
        start, end = preset_period(preset, TODAY)
        assert start <= end <= TODAY
