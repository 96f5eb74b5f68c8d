"""The forecast page's chart: calibration by decile, predicted against observed."""

from __future__ import annotations

from apps.kpis.charts import _empty, _layout


def calibration(bins: list[dict]) -> dict:
    if not bins:
        return _empty("No holdout outcomes to check the model against yet.")
    labels = [f"D{b['decile']}" for b in bins]
    return {
        "data": [
            {
                "type": "bar",
                "name": "Predicted (mean)",
                "x": labels,
                "y": [b["predicted"] for b in bins],
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Observed win rate",
                "x": labels,
                "y": [b["observed"] for b in bins],
                "text": [f"{b['n']} outcomes" for b in bins],
            },
        ],
        "layout": _layout(
            "Calibration by decile (holdout)",
            yaxis={"tickformat": ".0%", "range": [0, 1]},
            xaxis={"title": {"text": "Holdout rows by predicted probability, lowest first"}},
        ),
    }
