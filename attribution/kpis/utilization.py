"""Calendar utilization: booked calls over the bookable slots of a host's week.

A week runs Monday to Sunday. Its **available minutes** are the open intervals of the host's
Calendly availability schedule on each of its seven dates (a date rule replaces that weekday's
rule); its **available slots** are, per interval, the whole slots of ``slot_minutes`` that fit
(a 09:00–10:45 interval holds three 30-minute slots). **Utilization** = booked ÷ available
slots; no slots means no value ("—"), as every ratio.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from attribution.kpis.compute import safe_ratio
from attribution.sources.calendly_availability import AvailabilitySchedule

__all__ = ["WeekAvailability", "utilization", "week_availability", "week_start"]


@dataclass(frozen=True)
class WeekAvailability:
    week_start: date
    minutes: int
    slots: int


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_availability(
    schedule: AvailabilitySchedule, monday: date, *, slot_minutes: int
) -> WeekAvailability:
    if slot_minutes <= 0:
        raise ValueError("slot_minutes must be positive")
    if monday.weekday() != 0:
        raise ValueError(f"{monday} is not a Monday")
    minutes = slots = 0
    for offset in range(7):
        for start, end in schedule.intervals_on(monday + timedelta(days=offset)):
            minutes += end - start
            slots += (end - start) // slot_minutes
    return WeekAvailability(monday, minutes, slots)


def utilization(booked: int, available_slots: int) -> Decimal | None:
    return safe_ratio(Decimal(booked), Decimal(available_slots))
