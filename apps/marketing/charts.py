"""Attribution series -> Plotly figures (plain dicts, as apps/kpis/charts.py makes them)."""

from __future__ import annotations

from decimal import Decimal

from apps.kpis.charts import _empty, _layout, _money
from attribution.kpis.display import money_label

__all__ = ["comparison", "credited_vs_spend"]


def comparison(compare: dict[str, dict[str, Decimal]], labels: dict, currency: str) -> dict:
    """Grouped bars: one group per channel, one bar per model."""
    channels = sorted({ch for credits in compare.values() for ch in credits})
    if not channels:
        return _empty("No conversions in this period.")
    data = [
        {
            "type": "bar",
            "name": labels.get(model, model),
            "x": channels,
            "y": [_money(credits.get(ch)) for ch in channels],
        }
        for model, credits in compare.items()
    ]
    return {
        "data": data,
        "layout": _layout(money_label("Credit by channel and model", currency), barmode="group"),
    }


def credited_vs_spend(rows, currency: str, value_label: str) -> dict:
    shown = [r for r in rows if (r.credited or r.spend)]
    if not shown:
        return _empty("No credited conversions or spend in this period.")
    x = [r.channel for r in shown]
    return {
        "data": [
            {
                "type": "bar",
                "name": f"Credited {value_label}",
                "x": x,
                "y": [_money(r.credited) for r in shown],
            },
            {"type": "bar", "name": "Spend", "x": x, "y": [_money(r.spend) for r in shown]},
        ],
        "layout": _layout(money_label("Credited and spent by channel", currency), barmode="group"),
    }
