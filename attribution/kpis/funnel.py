"""The funnel's stages with each one's share of the first stage and of the one before.

The stages are the KPI cards' own base counts, so the funnel and the cards never disagree. Those
counts are dated each by its own event (a lead by its first touch, a call by its time, a deal by
its close), so a stage can hold more than the stage before it in one period: calls of last month's
leads, solution calls booked directly. Such a share is not a conversion, and is not shown as one
("700%" read as a broken product); neither is a share of nothing ("Infinity%").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Stage", "funnel_stages"]


@dataclass(frozen=True, slots=True)
class Stage:
    key: str
    label: str
    count: int
    of_first: Decimal | None  # None: no share to show
    of_previous: Decimal | None


def _share(count: int, parent: int | None) -> Decimal | None:
    if not parent or count > parent:
        return None
    return Decimal(count) / Decimal(parent)


def funnel_stages(base: Mapping[str, int | None], stages: Sequence[tuple[str, str]]) -> list[Stage]:
    """Stages with a value, in order; one without (leads under a rep filter) is left out."""
    present = [(key, label, base.get(key)) for key, label in stages]
    present = [(key, label, int(count)) for key, label, count in present if count is not None]
    out: list[Stage] = []
    for index, (key, label, count) in enumerate(present):
        first = present[0][2] if index else None
        previous = present[index - 1][2] if index else None
        out.append(Stage(key, label, count, _share(count, first), _share(count, previous)))
    return out
