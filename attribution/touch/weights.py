"""Multi-touch attribution: how much credit each touchpoint of a journey gets.

Weights are Decimals that sum to exactly 1, so splitting revenue by them never creates or loses
a cent beyond what :func:`allocate` assigns explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal, localcontext
from itertools import pairwise
from typing import Literal

__all__ = [
    "DEFAULT_HALF_LIFE",
    "MODELS",
    "Model",
    "allocate",
    "attribution_weights",
    "normalised",
    "round_to_total",
]

Model = Literal["first", "last", "linear", "time_decay", "position"]
MODELS: tuple[Model, ...] = ("first", "last", "linear", "time_decay", "position")
DEFAULT_HALF_LIFE = timedelta(days=7)

_PLACES = Decimal("1E-12")
_CONTEXT = Context(prec=40, rounding=ROUND_HALF_EVEN)
_POSITION_ENDS = Decimal("0.4")


def attribution_weights(
    touched_at: Sequence[datetime],
    /,
    *,
    model: Model,
    half_life: timedelta = DEFAULT_HALF_LIFE,
    converted_at: datetime | None = None,
) -> tuple[Decimal, ...]:
    """One weight per touchpoint, oldest first; an empty journey has no weights.

    time_decay halves a touch's weight for every ``half_life`` between it and the conversion
    (``converted_at``, by default the last touch).
    """
    count = len(touched_at)
    if count == 0:
        return ()
    if any(later < earlier for earlier, later in pairwise(touched_at)):
        raise ValueError("touchpoints must be ordered oldest first")
    with localcontext(_CONTEXT):
        raw = _raw_weights(touched_at, model=model, half_life=half_life, converted_at=converted_at)
        return _normalise(raw)


def _raw_weights(
    touched_at: Sequence[datetime],
    *,
    model: Model,
    half_life: timedelta,
    converted_at: datetime | None,
) -> list[Decimal]:
    count = len(touched_at)
    if model == "first":
        return [Decimal(1)] + [Decimal(0)] * (count - 1)
    if model == "last":
        return [Decimal(0)] * (count - 1) + [Decimal(1)]
    if model == "linear":
        return [Decimal(1)] * count
    if model == "position":
        if count <= 2:
            return [Decimal(1)] * count  # 40/20/40 has no middle: the ends share equally
        middle = (1 - 2 * _POSITION_ENDS) / (count - 2)
        return [_POSITION_ENDS] + [middle] * (count - 2) + [_POSITION_ENDS]
    if model == "time_decay":
        if half_life <= timedelta(0):
            raise ValueError("half_life must be positive")
        end = converted_at or touched_at[-1]
        half_life_s = Decimal(str(half_life.total_seconds()))
        # A touch after the conversion (clock skew between sources) counts as at the conversion.
        return [
            Decimal(2) ** -(max(Decimal(str((end - t).total_seconds())), Decimal(0)) / half_life_s)
            for t in touched_at
        ]
    raise ValueError(f"unknown attribution model {model!r}")


def normalised(raw: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """Non-negative ``raw`` scaled to weights of 12 decimals that sum to exactly 1 (all zero:
    even weights); empty in, empty out."""
    if not raw:
        return ()
    with localcontext(_CONTEXT):
        return _normalise(list(raw))


def _normalise(raw: list[Decimal]) -> tuple[Decimal, ...]:
    total = sum(raw, Decimal(0))
    if total == 0:
        # Every weight underflowed (touches many half-lives old): fall back to even credit.
        raw, total = [Decimal(1)] * len(raw), Decimal(len(raw))
    weights = [(w / total).quantize(_PLACES) for w in raw]
    # Rounding leaves a remainder of a few 1E-12; the largest weight absorbs it (the first one on
    # a tie), so the sum is exactly 1 and no zero weight turns negative.
    largest = max(range(len(weights)), key=lambda i: (weights[i], -i))
    weights[largest] += 1 - sum(weights, Decimal(0))
    return tuple(w.normalize() if w else Decimal(0) for w in weights)


def allocate(
    amount: Decimal, weights: Sequence[Decimal], *, quantum: Decimal = Decimal("0.01")
) -> tuple[Decimal, ...]:
    """Split ``amount`` by ``weights`` into multiples of ``quantum`` that add up to ``amount``.

    Largest-remainder rounding: each share is rounded down, then the leftover quanta go to the
    shares that lost the most, earliest first on a tie.
    """
    if not weights:
        return ()
    with localcontext(_CONTEXT):
        return round_to_total([amount * w for w in weights], amount, quantum=quantum)


def round_to_total(
    exact: Sequence[Decimal], total: Decimal, *, quantum: Decimal = Decimal("0.01")
) -> tuple[Decimal, ...]:
    """``exact`` amounts rounded to multiples of ``quantum`` that add up to ``total`` exactly.

    ``total`` must be a multiple of ``quantum`` (it normally is ``sum(exact)`` rounded).
    Largest-remainder rounding: every amount is rounded down (towards minus infinity, so a
    negative refund share rounds like a positive one), then the missing quanta go to the amounts
    that lost the most, earliest first on a tie; if the floors overshoot (``total`` below the
    exact sum), the quanta come off the amounts that lost the least, last first on a tie.
    """
    if not exact:
        return ()
    with localcontext(_CONTEXT):
        shares = [e.quantize(quantum, rounding=ROUND_FLOOR) for e in exact]
        leftover = int(((total - sum(shares, Decimal(0))) / quantum).to_integral_value())
        if leftover >= 0:
            order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - shares[i]), i))
            step = quantum
        else:
            order = sorted(range(len(shares)), key=lambda i: (exact[i] - shares[i], -i))
            step, leftover = -quantum, -leftover
        for k in range(leftover):
            shares[order[k % len(order)]] += step
        return tuple(shares)
