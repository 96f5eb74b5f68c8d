"""Selector series -> Plotly figures.

Figures are plain dicts in Plotly's JSON schema rather than ``plotly.graph_objects`` objects:
the page renders up to four of them per request, and graph_objects' validation costs tens of
milliseconds each, which the dashboard's latency budget cannot spare. plotly.js reads both alike.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["cash_by_closer", "close_rate_by_closer", "funnel", "trend"]

_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
    "height": 320,
    "paper_bgcolor": "#fff",
    "plot_bgcolor": "#fff",
    "font": {"family": "system-ui, sans-serif", "size": 12},
}


def _layout(title: str, **extra) -> dict:
    return {**_LAYOUT, "title": {"text": title}, **extra}


def _money(value) -> float:
    # Plotly draws floats; the exact Decimal is in the table beside the chart.
    return float(value or Decimal(0))


def funnel(base: dict, stages) -> dict:
    labels = [label for _, label in stages]
    values = [base.get(key) or 0 for key, _ in stages]
    return {
        "data": [{"type": "funnel", "y": labels, "x": values, "textinfo": "value+percent initial"}],
        "layout": _layout("Funnel", margin={**_LAYOUT["margin"], "l": 130}),
    }


def trend(months: list[dict], currency: str) -> dict:
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
    return {"data": data, "layout": _layout(f"Monthly trend ({currency})")}


def cash_by_closer(closers: list[dict], currency: str) -> dict:
    rows = sorted(closers, key=lambda r: r["base"]["cash_collected"], reverse=True)
    return {
        "data": [
            {
                "type": "bar",
                "x": [r["name"] for r in rows],
                "y": [_money(r["base"]["cash_collected"]) for r in rows],
                "name": "Cash",
            }
        ],
        "layout": _layout(f"Cash by closer ({currency})"),
    }


def close_rate_by_closer(closers: list[dict]) -> dict:
    rows = [r for r in closers if r["kpis"]["close_rate"] is not None]
    rows.sort(key=lambda r: r["kpis"]["close_rate"], reverse=True)
    return {
        "data": [
            {
                "type": "bar",
                "x": [r["name"] for r in rows],
                "y": [float(r["kpis"]["close_rate"]) for r in rows],
                "name": "Close rate",
            }
        ],
        "layout": _layout("Close rate by closer", yaxis={"tickformat": ".0%"}),
    }
