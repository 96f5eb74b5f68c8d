"""Every figure a card can show, base count or KPI, with its unit, its words and which way is good.

The dashboard's headline row, its sections, the change against the previous period and the
sparklines all read this one list, so a figure is labelled, formatted and judged the same way
wherever it appears.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from attribution.kpis.compute import format_kpi
from attribution.kpis.definitions import KPIS, KPIS_BY_NAME
from attribution.kpis.display import format_money, format_number

__all__ = [
    "DEFAULT_HEADLINE",
    "GROUPS",
    "METRICS",
    "Metric",
    "format_metric",
    "headline_names",
    "metric_value",
]


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    label: str
    unit: str  # count, money, percent, multiple, number
    help: str
    lower_is_better: bool = False


_BASE = (
    Metric("leads", "Leads", "count", "Contacts whose first touch falls in the period."),
    Metric(
        "ad_spend",
        "Ad spend",
        "money",
        "Spend per day, months spread evenly over their days.",
        lower_is_better=True,
    ),
    Metric("cash_collected", "Cash collected", "money", "Payments of the period minus refunds."),
    Metric("revenue", "Revenue", "money", "Contracted value of the deals won in the period."),
    Metric("deals_won", "Deals won", "count", "Deals won in the period (closed_at)."),
    Metric("refunds", "Refunds", "money", "Refunds of the period.", lower_is_better=True),
    Metric("triage_booked", "Triage calls booked", "count", "Reschedules count once."),
    Metric("solution_booked", "Solution calls booked", "count", "Reschedules count once."),
    Metric("pcf_pending", "PCFs owed", "count", "Due calls without a PCF.", lower_is_better=True),
)
_LOWER_IS_BETTER = {
    "triage_no_show_rate",
    "triage_cancel_rate",
    "solution_no_show_rate",
    "solution_cancel_rate",
    "cpl",
    "cost_per_triage_booked",
    "cost_per_solution_booked",
    "cost_per_solution_attended",
    "calls_to_close",
}
METRICS: dict[str, Metric] = {m.name: m for m in _BASE} | {
    kpi.name: Metric(
        kpi.name,
        kpi.label,
        kpi.unit,
        kpi.formula + (f" — {kpi.description}" if kpi.description else ""),
        kpi.name in _LOWER_IS_BETTER,
    )
    for kpi in KPIS
}

DEFAULT_HEADLINE = ("cash_collected", "revenue", "roas", "solution_show_rate", "close_rate", "cpl")
GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "funnel",
        "Funnel",
        (
            "leads",
            "triage_booked",
            "triage_show_rate",
            "triage_no_show_rate",
            "triage_cancel_rate",
            "triage_held_show_rate",
            "triage_to_solution_rate",
            "solution_booked",
            "direct_booking_rate",
            "solution_show_rate",
            "solution_no_show_rate",
            "solution_cancel_rate",
            "solution_held_show_rate",
            "offer_rate",
            "close_rate",
            "lead_to_close_rate",
            "deals_won",
            "calls_to_close",
            "pcf_completion_rate",
            "pcf_pending",
        ),
    ),
    (
        "cost",
        "Cost",
        (
            "ad_spend",
            "cpl",
            "cost_per_triage_booked",
            "cost_per_solution_booked",
            "cost_per_solution_attended",
        ),
    ),
    (
        "cash",
        "Cash",
        (
            "cash_collected",
            "revenue",
            "refunds",
            "collection_rate",
            "cash_per_solution_booked",
            "cash_per_solution_attended",
            "epc2",
            "avg_contract_value",
            "avg_cash_per_deal",
        ),
    ),
    (
        "efficiency",
        "Efficiency",
        ("roas", "cash_roas", "profit", "profit_per_solution_attended", "profit_efficiency"),
    ),
)


def headline_names(chosen: object) -> tuple[str, ...]:
    """The org's choice of up to six headline figures, or the default; unknown names dropped."""
    if isinstance(chosen, list | tuple):
        names = tuple(dict.fromkeys(n for n in chosen if isinstance(n, str) and n in METRICS))
        if names:
            return names[:6]
    return DEFAULT_HEADLINE


def metric_value(
    name: str, base: Mapping[str, object], kpis: Mapping[str, Decimal | None]
) -> Decimal | int | None:
    return kpis[name] if name in KPIS_BY_NAME else base.get(name)


def format_metric(name: str, value, currency: str | None) -> str:
    if name in KPIS_BY_NAME:
        return format_kpi(KPIS_BY_NAME[name], value, currency)
    if METRICS[name].unit == "money":
        return format_money(value, currency)
    return format_number(value)
