"""Selector series -> Plotly figures.

Figures are plain dicts in Plotly's JSON schema rather than ``plotly.graph_objects`` objects:
the page renders up to four of them per request, and graph_objects' validation costs tens of
milliseconds each, which the dashboard's latency budget cannot spare. plotly.js reads both alike.
"""

from __future__ import annotations

from decimal import Decimal

from attribution.kpis.display import format_percent, money_label
from attribution.kpis.funnel import funnel_stages

__all__ = [
    "cash_by_closer",
    "close_rate_by_closer",
    "funnel",
    "setter_activity",
    "trend",
    "utilization_by_host",
]

_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
    "height": 320,
    "autosize": True,
    "paper_bgcolor": "#fff",
    "plot_bgcolor": "#fff",
    "font": {"family": "system-ui, sans-serif", "size": 12},
}


def _layout(title: str, **extra) -> dict:
    return {**_LAYOUT, "title": {"text": title}, **extra}


def _money(value) -> float:
    # Plotly draws floats; the exact Decimal is in the table beside the chart.
    return float(value or Decimal(0))


def _empty(message: str) -> dict:
    # One empty state for every chart: an axis from -1 to 1 over nothing reads as a fault.
    return {"empty": message, "data": [], "layout": {}}


def funnel(base: dict, stages) -> dict:
    shown = funnel_stages(base, stages)
    if not any(stage.count for stage in shown):
        return _empty("No leads or calls in this period.")
    text = [
        f"{stage.count:,}"
        + (f" · {format_percent(stage.of_previous)} of previous" if stage.of_previous else "")
        for stage in shown
    ]
    hover = [
        f"{stage.label}: {stage.count:,}<br>of first stage: {format_percent(stage.of_first)}"
        f"<br>of previous stage: {format_percent(stage.of_previous)}"
        for stage in shown
    ]
    return {
        "data": [
            {
                "type": "funnel",
                "y": [stage.label for stage in shown],
                "x": [stage.count for stage in shown],
                "text": text,
                "textinfo": "text",
                "hovertext": hover,
                "hoverinfo": "text",
            }
        ],
        "layout": _layout("Funnel", margin={**_LAYOUT["margin"], "l": 130}),
    }


def trend(months: list[dict], currency: str) -> dict:
    if not any(m["base"].get(k) for m in months for k in ("cash_collected", "revenue", "ad_spend")):
        return _empty("No cash, revenue or ad spend in these months.")
    x = [m["month"].strftime("%Y-%m") for m in months]
    series = (("cash_collected", "Cash"), ("revenue", "Revenue"), ("ad_spend", "Ad spend"))
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": label,
            "x": x,
            "y": [_money(m["base"].get(key)) for m in months],
        }
        for key, label in series
    ]
    return {"data": data, "layout": _layout(money_label("Monthly trend", currency))}


def cash_by_closer(closers: list[dict], currency: str) -> dict:
    rows = sorted(closers, key=lambda r: r["base"]["cash_collected"], reverse=True)
    if not any(r["base"]["cash_collected"] for r in rows):
        return _empty("No cash credited to a closer in this period.")
    return {
        "data": [
            {
                "type": "bar",
                "x": [r["name"] for r in rows],
                "y": [_money(r["base"]["cash_collected"]) for r in rows],
                "name": "Cash",
            }
        ],
        "layout": _layout(money_label("Cash by closer", currency)),
    }


def close_rate_by_closer(closers: list[dict]) -> dict:
    rows = [r for r in closers if r["kpis"]["close_rate"] is not None]
    rows.sort(key=lambda r: r["kpis"]["close_rate"], reverse=True)
    if not rows:
        return _empty("No solution calls held in this period.")
    return {
        "data": [
            {
                "type": "bar",
                "x": [r["name"] for r in rows],
                "y": [float(r["kpis"]["close_rate"]) for r in rows],
                "name": "Close rate",
            }
        ],
        "layout": _layout(
            "Close rate by closer", yaxis={"tickformat": ".0%", "rangemode": "tozero"}
        ),
    }


def setter_activity(days) -> dict:
    """Dials and connected calls per day (bars), bookings per 100 dials (a line, right axis)."""
    if not days or not any(counts.dials or counts.bookings for _, counts in days):
        return _empty("No setter dials or bookings in this period.")
    x = [day.isoformat() for day, _ in days]
    per_100 = [counts.bookings_per_100_dials for _, counts in days]
    return {
        "data": [
            {"type": "bar", "name": "Dials", "x": x, "y": [c.dials for _, c in days]},
            {"type": "bar", "name": "Connected", "x": x, "y": [c.connected for _, c in days]},
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Bookings / 100 dials",
                "x": x,
                "y": [float(v) if v is not None else None for v in per_100],
                "yaxis": "y2",
            },
        ],
        "layout": _layout(
            "Setter activity",
            barmode="group",
            yaxis={"rangemode": "tozero", "title": {"text": "Calls"}},
            yaxis2={"overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False},
        ),
    }


def utilization_by_host(hosts) -> dict:
    """Booked ÷ available slots per host over the period (meetings.utilization.HostWeek)."""
    shown = [h for h in hosts if h.utilization is not None]
    if not shown:
        return _empty("No Calendly availability synced for these weeks.")
    return {
        "data": [
            {
                "type": "bar",
                "x": [h.host for h in shown],
                "y": [float(h.utilization) for h in shown],
                "text": [f"{h.booked} of {h.available_slots}" for h in shown],
                "name": "Utilization",
            }
        ],
        "layout": _layout(
            "Calendar utilization", yaxis={"tickformat": ".0%", "rangemode": "tozero"}
        ),
    }
