"""Calendly availability schedules -> typed weekly rules (``GET /user_availability_schedules``).

A schedule (Calendly API v2, "Availability") is ``{uri, default, name, user, timezone, rules}``;
each rule is ``{type: "wday", wday: "monday", intervals: [{from: "09:00", to: "17:00"}]}`` for a
weekday, or ``{type: "date", date: "2026-03-10", intervals: [...]}`` overriding one date. An empty
``intervals`` list means no availability that day. Times are wall-clock times in the schedule's
``timezone``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from attribution.sources.records import ParseError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

Interval = tuple[int, int]  # minutes after local midnight, [from, to)


@dataclass(frozen=True, slots=True)
class AvailabilitySchedule:
    uri: str
    user: str
    timezone: str
    default: bool = False
    name: str = ""
    weekly: Mapping[int, tuple[Interval, ...]] = field(default_factory=dict)  # weekday() -> ...
    dates: Mapping[date, tuple[Interval, ...]] = field(default_factory=dict)

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """The day's open intervals: its date rule when it has one, else its weekday's."""
        if day in self.dates:
            return self.dates[day]
        return self.weekly.get(day.weekday(), ())


def _minutes(value: Any, *, where: str) -> int:
    try:
        hours, minutes = (int(part) for part in str(value).split(":"))
    except ValueError:
        raise ParseError(f"{where}: {value!r} is not a time as HH:MM") from None
    total = hours * 60 + minutes
    if not (0 <= minutes < 60 and 0 <= total <= 24 * 60):
        raise ParseError(f"{where}: {value!r} is not a time of day")
    return total


def _intervals(raw: Any, *, where: str) -> tuple[Interval, ...]:
    out = []
    for item in raw if isinstance(raw, Sequence) and not isinstance(raw, str) else ():
        if not isinstance(item, Mapping):
            continue
        start = _minutes(item.get("from"), where=where)
        end = _minutes(item.get("to"), where=where)
        if end > start:
            out.append((start, end))
    return tuple(sorted(out))


def parse_availability_schedule(resource: Mapping[str, Any]) -> AvailabilitySchedule:
    where = "calendly.user_availability_schedule"
    if not isinstance(resource, Mapping):
        raise ParseError(f"{where}: not an object")
    uri, user = resource.get("uri"), resource.get("user")
    if not isinstance(uri, str) or not isinstance(user, str):
        raise ParseError(f"{where}: uri and user are required")
    weekly: dict[int, tuple[Interval, ...]] = {}
    dates: dict[date, tuple[Interval, ...]] = {}
    rules = resource.get("rules")
    for rule in rules if isinstance(rules, Sequence) and not isinstance(rules, str) else ():
        if not isinstance(rule, Mapping):
            continue
        intervals = _intervals(rule.get("intervals"), where=where)
        if rule.get("type") == "wday" and str(rule.get("wday", "")).lower() in WEEKDAYS:
            weekly[WEEKDAYS.index(str(rule["wday"]).lower())] = intervals
        elif rule.get("type") == "date":
            try:
                dates[date.fromisoformat(str(rule.get("date")))] = intervals
            except ValueError:
                raise ParseError(f"{where}: {rule.get('date')!r} is not a date") from None
    return AvailabilitySchedule(
        uri=uri,
        user=user,
        timezone=str(resource.get("timezone") or "UTC"),
        default=resource.get("default") is True,
        name=str(resource.get("name") or ""),
        weekly=weekly,
        dates=dates,
    )


def default_schedule(schedules: Sequence[AvailabilitySchedule]) -> AvailabilitySchedule | None:
    """The user's default schedule (the one their event types use unless told otherwise)."""
    for schedule in schedules:
        if schedule.default:
            return schedule
    return schedules[0] if schedules else None
