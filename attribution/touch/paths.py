"""Top conversion paths: which orders of channels convert, how often, for how much, how fast."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from attribution.touch.journeys import DIRECT, Journey

__all__ = ["PathStat", "collapse", "top_paths"]

_CONTEXT = Context(prec=40, rounding=ROUND_HALF_EVEN)
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class PathStat:
    channels: tuple[str, ...]  # consecutive repeats collapsed: fb, fb, google -> fb > google
    conversions: int
    value: Decimal  # sum of the journeys' values, to the cent
    mean_days: Decimal  # first touch to conversion, 2 decimals
    mean_touches: Decimal  # touches as recorded (repeats counted), 2 decimals

    @property
    def label(self) -> str:
        return " > ".join(self.channels)


def collapse(channels: Sequence[str]) -> tuple[str, ...]:
    """The channel sequence with consecutive repeats merged (a retargeting ad seen three times in
    a row is one step of the path)."""
    path: list[str] = []
    for channel in channels:
        if not path or path[-1] != channel:
            path.append(channel)
    return tuple(path)


def top_paths(journeys: Sequence[Journey], *, limit: int = 20) -> list[PathStat]:
    """The ``limit`` most frequent paths of the converting journeys (most conversions first, then
    most value, then the path's text). A converting journey without touches is the path
    ``direct``, as every model credits it."""
    conversions: dict[tuple[str, ...], int] = defaultdict(int)
    value: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    seconds: dict[tuple[str, ...], float] = defaultdict(float)
    touches: dict[tuple[str, ...], int] = defaultdict(int)
    with localcontext(_CONTEXT):
        for journey in journeys:
            if journey.converted_at is None:
                continue
            path = collapse([t.channel for t in journey.touches]) or (DIRECT,)
            first = min((t.at for t in journey.touches), default=journey.converted_at)
            conversions[path] += 1
            value[path] += Decimal(journey.value).quantize(_CENT)
            seconds[path] += max((journey.converted_at - first).total_seconds(), 0.0)
            touches[path] += max(len(journey.touches), 1)
        ranked = sorted(conversions, key=lambda p: (-conversions[p], -value[p], p))[:limit]
        return [
            PathStat(
                channels=path,
                conversions=conversions[path],
                value=value[path],
                mean_days=(Decimal(seconds[path] / 86400) / conversions[path]).quantize(_CENT),
                mean_touches=(Decimal(touches[path]) / conversions[path]).quantize(_CENT),
            )
            for path in ranked
        ]
