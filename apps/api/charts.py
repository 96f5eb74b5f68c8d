"""The conversions page's timeline as a Plotly figure (the dashboard's conventions)."""

from apps.kpis.charts import _empty, _layout, _money
from attribution.kpis.display import money_label

__all__ = ["timeline"]


def timeline(trends: dict, currency: str) -> dict:
    points = trends["daily"] if len(trends["daily"]) <= 92 else trends["weekly"]
    if not any(p["conversions"] for p in points):
        return _empty("No conversions in this period.")
    x = [p["period"] for p in points]
    return {
        "data": [
            {"type": "bar", "name": "Conversions", "x": x, "y": [p["conversions"] for p in points]},
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"Value ({currency})",
                "yaxis": "y2",
                "x": x,
                "y": [_money(p["value"].get(currency)) for p in points],
            },
        ],
        "layout": _layout(
            money_label("Conversions over time", currency),
            yaxis={"title": {"text": "Conversions"}},
            yaxis2={"title": {"text": "Value"}, "overlaying": "y", "side": "right"},
        ),
    }
