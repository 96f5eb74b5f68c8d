"""Available slots from a Calendly availability schedule, and utilization over them."""

from datetime import date
from decimal import Decimal

import pytest

from attribution.kpis.utilization import utilization, week_availability, week_start
from attribution.sources.calendly_availability import (
    default_schedule,
    parse_availability_schedule,
)
from attribution.sources.records import ParseError


def schedule(rules, **extra):
    return parse_availability_schedule(
        {
            "uri": "https://api.calendly.com/user_availability_schedule/abc123",
            "default": True,
            "name": "Working Hours",
            "user": "https://api.calendly.com/users/abc123",
            "timezone": "America/New_York",
            "rules": rules,
            **extra,
        }
    )


def wday(day, *intervals):
    return {"type": "wday", "wday": day, "intervals": [{"from": a, "to": b} for a, b in intervals]}


WORKING_WEEK = [
    *(wday(d, ("09:00", "12:00"), ("13:00", "17:00")) for d in ("monday", "tuesday", "wednesday",
                                                              "thursday")),
    wday("friday", ("09:00", "10:45")),
    wday("saturday"),
    wday("sunday"),
]  # fmt: skip


def test_a_week_counts_the_whole_slots_of_every_interval():
    # Monday-Thursday 3 h + 4 h = 14 half hours a day; Friday 105 minutes = 3 whole slots.
    week = week_availability(schedule(WORKING_WEEK), date(2026, 3, 16), slot_minutes=30)
    assert (week.minutes, week.slots) == (4 * 420 + 105, 4 * 14 + 3)


def test_a_date_rule_replaces_that_weekdays_rule():
    day_off = {"type": "date", "date": "2026-03-10", "intervals": []}
    week = week_availability(schedule([*WORKING_WEEK, day_off]), date(2026, 3, 9), slot_minutes=30)
    assert (week.minutes, week.slots) == (3 * 420 + 105, 3 * 14 + 3)
    longer = {"type": "date", "date": "2026-03-14", "intervals": [{"from": "10:00", "to": "11:00"}]}
    week = week_availability(schedule([*WORKING_WEEK, longer]), date(2026, 3, 9), slot_minutes=45)
    assert week.slots == 4 * (4 + 5) + 2 + 1  # 3 h -> 4, 4 h -> 5, 105 min -> 2, 60 min -> 1


def test_utilization_is_booked_over_slots_and_none_without_slots():
    assert utilization(9, 45) == Decimal("0.2")
    assert utilization(0, 0) is None


def test_a_day_can_end_at_midnight():
    week = week_availability(schedule([wday("sunday", ("22:00", "24:00"))]), date(2026, 3, 9),
                             slot_minutes=60)  # fmt: skip
    assert week.slots == 2


def test_bad_times_and_missing_ids_are_refused():
    with pytest.raises(ParseError):
        schedule([wday("monday", ("9am", "5pm"))])
    with pytest.raises(ParseError):
        parse_availability_schedule({"uri": "x"})
    with pytest.raises(ValueError):
        week_availability(schedule(WORKING_WEEK), date(2026, 3, 10), slot_minutes=30)


def test_the_default_schedule_is_chosen():
    evening = schedule(WORKING_WEEK, default=False, name="Evening")
    working = schedule(WORKING_WEEK)
    assert default_schedule([evening, working]) is working
    assert default_schedule([evening]) is evening and default_schedule([]) is None
    assert week_start(date(2026, 3, 12)) == date(2026, 3, 9)
