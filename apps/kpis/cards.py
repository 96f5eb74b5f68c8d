"""The dashboard's cards: a headline row with the change against the previous period and a
sparkline each, then every other figure in sections (funnel, cost, cash, efficiency)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from attribution.kpis.display import format_change
from attribution.kpis.metrics import GROUPS, METRICS, format_metric, metric_value

__all__ = ["Card", "headline_cards", "section_cards", "sparkline"]

SPARK_WIDTH, SPARK_HEIGHT = 100, 24


@dataclass(frozen=True)
class Card:
    name: str
    label: str
    help: str
    value: str
    change: str = ""
    trend: str = ""  # "up" or "down" (or "" for none or no change)
    verdict: str = ""  # "good" or "bad": which way this figure should move
    spark: tuple[str, ...] = ()  # SVG polyline point lists; a gap (no value) splits the line
    previous: str = ""


def sparkline(values: Sequence[object]) -> tuple[str, ...]:
    """Polyline point strings in a 100×24 box; a bucket without a value breaks the line."""
    numbers = [float(v) for v in values if v is not None]
    if len(values) < 2 or not numbers:
        return ()
    low, high = min(numbers), max(numbers)
    span = (high - low) or 1.0
    step = SPARK_WIDTH / (len(values) - 1)
    lines, current = [], []
    for index, value in enumerate(values):
        if value is None:
            if current:
                lines.append(current)
            current = []
            continue
        y = SPARK_HEIGHT - 2 - (float(value) - low) / span * (SPARK_HEIGHT - 4)
        current.append(f"{index * step:.1f},{y:.1f}")
    if current:
        lines.append(current)
    # A lone point has no line to draw: a tiny segment makes it a dot.
    return tuple(" ".join(line if len(line) > 1 else [*line, line[0]]) for line in lines)


def _card(name: str, data: dict, currency: str, *, compare: bool) -> Card:
    metric = METRICS[name]
    value = metric_value(name, data["base"], data["kpis"])
    card = {
        "name": name,
        "label": metric.label,
        "help": metric.help,
        "value": format_metric(name, value, currency),
    }
    if compare and "previous" in data:
        prev = data["previous"]
        before = metric_value(name, prev["base"], prev["kpis"])
        change = format_change(value, before, unit=metric.unit)
        card["previous"] = format_metric(name, before, currency)
        if change is not None:
            text, direction = change
            card["change"] = text
            card["trend"] = {1: "up", -1: "down"}.get(direction, "")
            if direction:
                good = (direction < 0) if metric.lower_is_better else (direction > 0)
                card["verdict"] = "good" if good else "bad"
        card["spark"] = sparkline(
            [metric_value(name, s["base"], s["kpis"]) for s in data.get("series", [])]
        )
    return Card(**card)


def headline_cards(data: dict, names: Sequence[str], currency: str) -> list[Card]:
    return [_card(name, data, currency, compare=True) for name in names]


def section_cards(data: dict, *, skip: Sequence[str], currency: str) -> list[dict]:
    """[{"key", "title", "cards"}] for every group, without the figures already in the headline."""
    return [
        {
            "key": key,
            "title": title,
            "cards": [
                _card(name, data, currency, compare=False) for name in names if name not in skip
            ],
        }
        for key, title, names in GROUPS
    ]
