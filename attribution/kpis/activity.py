"""Setter activity from the CRM's call log: dials, connected calls, talk time, bookings.

Close gives every call a ``direction`` (outbound|inbound) and a ``disposition`` (answered,
no-answer, vm-answer, vm-left, busy, blocked, error, abandoned). A **dial** is an outbound call;
it **connected** when its disposition is ``answered``. A call logged from outside Close's dialer
may carry no disposition: it connected when it lasted a second or more. **Talk time** is the
duration of the connected dials; the **average call** is talk time over connected dials;
**bookings per 100 dials** is the calls the setter booked that day (KPIS.md credit) times 100
over dials. Ratios with a zero denominator have no value ("—"), as every KPI.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from attribution.kpis.compute import safe_ratio
from attribution.kpis.display import EMPTY, format_number, format_percent

__all__ = [
    "ActivityCounts",
    "format_duration",
    "is_connected",
    "is_dial",
]

INBOUND = frozenset({"inbound", "incoming"})
CONNECTED = "answered"


def is_dial(direction: str | None) -> bool:
    """An outbound call; one logged without a direction is counted as the setter's dial."""
    return (direction or "").strip().lower() not in INBOUND


def is_connected(disposition: str | None, duration_seconds: int | None) -> bool:
    folded = (disposition or "").strip().lower()
    if folded:
        return folded == CONNECTED
    return (duration_seconds or 0) > 0


@dataclass(frozen=True)
class ActivityCounts:
    dials: int = 0
    connected: int = 0
    talk_seconds: int = 0
    bookings: int = 0

    def __add__(self, other: ActivityCounts) -> ActivityCounts:
        return ActivityCounts(
            self.dials + other.dials,
            self.connected + other.connected,
            self.talk_seconds + other.talk_seconds,
            self.bookings + other.bookings,
        )

    @property
    def connect_rate(self) -> Decimal | None:
        return safe_ratio(Decimal(self.connected), Decimal(self.dials))

    @property
    def avg_call_seconds(self) -> Decimal | None:
        return safe_ratio(Decimal(self.talk_seconds), Decimal(self.connected))

    @property
    def bookings_per_100_dials(self) -> Decimal | None:
        return safe_ratio(Decimal(self.bookings * 100), Decimal(self.dials))

    def display(self) -> dict[str, str]:
        """Every figure as the tables show it."""
        return {
            "dials": format_number(self.dials),
            "connected": format_number(self.connected),
            "connect_rate": format_percent(self.connect_rate),
            "talk_time": format_duration(self.talk_seconds),
            "avg_call": format_duration(self.avg_call_seconds),
            "bookings": format_number(self.bookings),
            "bookings_per_100_dials": format_number(self.bookings_per_100_dials, 1),
        }


def format_duration(seconds: Decimal | int | None) -> str:
    """Seconds as h:mm:ss (m:ss under an hour), rounded to the second: 3725 -> "1:02:05"."""
    if seconds is None:
        return EMPTY
    total = int(Decimal(seconds).to_integral_value(rounding=ROUND_HALF_UP))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
