"""A journey: one contact's touches in time order, up to the conversion being credited.

The app builds journeys from touchpoints, meetings, deals and payments; everything under
``attribution.touch`` only reads these frozen values.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

__all__ = ["DIRECT", "KINDS", "MILESTONES", "Journey", "Touch", "in_window"]

DIRECT = "direct"
KINDS = ("form", "booking", "crm_lead", "payment", "conversion")
MILESTONES = ("lead", "triage", "solution")


@dataclass(frozen=True, slots=True)
class Touch:
    """One touchpoint. ``channel`` is already mapped (``direct`` when there was no UTM).

    ``milestone`` marks the touch that led to the lead (``"lead"``), to the triage booking
    (``"triage"``) or to the solution booking (``"solution"``); the W-shaped model reads it.
    """

    at: datetime
    channel: str
    campaign: str = ""
    kind: str = "form"
    milestone: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown touch kind {self.kind!r}")
        if self.milestone is not None and self.milestone not in MILESTONES:
            raise ValueError(f"unknown milestone {self.milestone!r}")


@dataclass(frozen=True, slots=True)
class Journey:
    """``key`` identifies the contact (or contact and conversion); ``converted_at`` is None for a
    journey that did not convert; ``value`` is the conversion's credited value (contracted value
    or net cash, possibly negative after refunds), 0 for a non-converting journey."""

    key: str
    touches: tuple[Touch, ...]
    converted_at: datetime | None
    value: Decimal = Decimal(0)

    @property
    def converted(self) -> bool:
        return self.converted_at is not None


def in_window(journey: Journey, *, lookback_days: int = 90) -> Journey:
    """The journey as the models credit it, touches sorted oldest first (stable on ties).

    A converting journey keeps the touches in ``[converted_at - lookback_days, converted_at]``
    (both ends included: a touch at the very moment of the conversion counts); touches after the
    conversion never count. If none is left, it gets one ``direct`` touch (kind ``conversion``) at
    the conversion time, so every converted value is credited somewhere.

    A non-converting journey has no conversion to look back from: its touches are returned as
    given (sorted) — the caller picks them for the period, and the Markov model needs them to
    reach ``null``. A non-converting journey with no touch stays empty (it is never credited).
    """
    if lookback_days < 0:
        raise ValueError("lookback_days must not be negative")
    touches = tuple(sorted(journey.touches, key=lambda t: t.at))
    if journey.converted_at is None:
        return replace(journey, touches=touches)
    end = journey.converted_at
    start = end - timedelta(days=lookback_days)
    kept = tuple(t for t in touches if start <= t.at <= end)
    if not kept:
        kept = (Touch(at=end, channel=DIRECT, kind="conversion"),)
    return replace(journey, touches=kept)
