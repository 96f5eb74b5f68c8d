"""Date presets of the dashboard and the period each one is compared with.

Pure date arithmetic on the org-local "today" the caller passes in, so a preset means the same on
the page, in a shared link and in a test.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

__all__ = ["PRESETS", "month_bounds", "preset_period", "previous_period"]

PRESETS: tuple[tuple[str, str], ...] = (
    ("today", "Today"),
    ("yesterday", "Yesterday"),
    ("last_7", "Last 7 days"),
    ("last_30", "Last 30 days"),
    ("last_90", "Last 90 days"),
    ("mtd", "Month to date"),
    ("last_month", "Last month"),
    ("qtd", "Quarter to date"),
    ("ytd", "Year to date"),
    ("month", "A month"),
    ("custom", "Custom range"),
)


def month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _months_back(day: date, months: int) -> date:
    """``day`` ``months`` earlier, clamped to the month's last day (31 March -> 28 February)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def preset_period(preset: str, today: date) -> tuple[date, date]:
    """(start, end), end inclusive. "month" and "custom" need their own dates: not handled here."""
    if preset == "today":
        return today, today
    if preset == "yesterday":
        day = today - timedelta(days=1)
        return day, day
    if preset in ("last_7", "last_30", "last_90"):
        days = int(preset.split("_")[1])
        return today - timedelta(days=days - 1), today
    if preset == "mtd":
        return today.replace(day=1), today
    if preset == "last_month":
        return month_bounds(today.replace(day=1) - timedelta(days=1))
    if preset == "qtd":
        return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today
    if preset == "ytd":
        return date(today.year, 1, 1), today
    raise ValueError(f"unknown preset: {preset}")


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period a change is measured against.

    A whole calendar month compares with the month before; a month, quarter or year "to date"
    with the same days of the month, quarter or year before (1–4 December with 1–4 November:
    the start of a month is not like the end of the one before); any other period with the
    days just before it, as many as it has.
    """
    if (start, end) == month_bounds(start):
        return month_bounds(start.replace(day=1) - timedelta(days=1))
    if start.day == 1:
        for months in (1, 3, 12):
            if _is_span_start(start, months) and (end - start).days < _span_days(start, months):
                return _months_back(start, months), _months_back(end, months)
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def _is_span_start(start: date, months: int) -> bool:
    return months == 1 or (start.month - 1) % months == 0


def _span_days(start: date, months: int) -> int:
    end = _months_back(start, -months)
    return (end - start).days
