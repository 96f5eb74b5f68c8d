"""Small builders for journeys in the attribution.touch tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from attribution.touch.journeys import Journey, Touch

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def day(offset: float) -> datetime:
    return T0 + timedelta(days=offset)


def journey(
    *channels: str,
    value: str | int | None = None,
    days: tuple[float, ...] | None = None,
    converted_day: float | None = None,
    campaigns: tuple[str, ...] | None = None,
    milestones: tuple[str | None, ...] | None = None,
    key: str = "j",
) -> Journey:
    """Touches one day apart (or on ``days``); converting on the last touch's day (or on
    ``converted_day``) when ``value`` is given."""
    days = days if days is not None else tuple(float(i) for i in range(len(channels)))
    touches = tuple(
        Touch(
            at=day(d),
            channel=c,
            campaign=campaigns[i] if campaigns else "",
            milestone=milestones[i] if milestones else None,
        )
        for i, (c, d) in enumerate(zip(channels, days, strict=True))
    )
    if value is None:
        return Journey(key, touches, None)
    end = converted_day if converted_day is not None else (days[-1] if days else 0.0)
    return Journey(key, touches, day(end), Decimal(value))
