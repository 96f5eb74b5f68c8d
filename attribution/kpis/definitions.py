"""KPIS.md as data: base counts, and every derived KPI as a ratio (or difference) of them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = [
    "BASE_COUNTS",
    "KPI",
    "KPIS",
    "KPIS_BY_NAME",
    "MONEY_BASE_COUNTS",
    "Expr",
    "Unit",
]

Unit = Literal["percent", "money", "number", "multiple"]

BASE_COUNTS: tuple[str, ...] = (
    "leads",
    "triage_booked",
    "triage_due",
    "triage_attended",
    "triage_no_show",
    "triage_canceled",
    "solution_booked",
    "solution_due",
    "solution_attended",
    "solution_no_show",
    "solution_canceled",
    "solution_direct_booked",
    "offers_made",
    "deals_won",
    "revenue",
    "cash_collected",
    "refunds",
    "ad_spend",
    "pcf_pending",
)
MONEY_BASE_COUNTS = frozenset({"revenue", "cash_collected", "refunds", "ad_spend"})


@dataclass(frozen=True, slots=True)
class Expr:
    """A computed term; ``inputs`` are declared so filters can tell what a KPI is built on."""

    inputs: tuple[str, ...]
    fn: Callable[[Mapping[str, Decimal]], Decimal]
    text: str

    def __call__(self, base: Mapping[str, Decimal]) -> Decimal:
        return self.fn(base)


Term = str | Expr


def _sum(*names: str) -> Expr:
    return Expr(names, lambda b: sum((b[n] for n in names), Decimal(0)), " + ".join(names))


def _minus(left: str | Expr, *rights: str) -> Expr:
    left_inputs = left.inputs if isinstance(left, Expr) else (left,)
    left_text = f"({left.text})" if isinstance(left, Expr) else left

    def fn(b: Mapping[str, Decimal]) -> Decimal:
        start = left(b) if isinstance(left, Expr) else b[left]
        return start - sum((b[n] for n in rights), Decimal(0))

    return Expr((*left_inputs, *rights), fn, " − ".join((left_text, *rights)))


@dataclass(frozen=True, slots=True)
class KPI:
    name: str
    label: str
    numerator: Term
    denominator: Term | None  # None: not a ratio (profit)
    unit: Unit
    description: str = ""
    decimals: int | None = None  # display precision; None takes the unit's default

    @property
    def formula(self) -> str:
        def render(term: Term) -> str:
            if isinstance(term, str):
                return term
            return f"({term.text})" if self.denominator is not None else term.text

        if self.denominator is None:
            return render(self.numerator)
        return f"{render(self.numerator)} / {render(self.denominator)}"

    @property
    def inputs(self) -> frozenset[str]:
        names: set[str] = set()
        for term in (self.numerator, self.denominator):
            if isinstance(term, str):
                names.add(term)
            elif isinstance(term, Expr):
                names.update(term.inputs)
        return frozenset(names)

    @property
    def display_decimals(self) -> int:
        if self.decimals is not None:
            return self.decimals
        return {"percent": 1, "money": 2, "number": 1, "multiple": 2}[self.unit]


_PROFIT = _minus("revenue", "ad_spend")
# Meetings a PCF is expected for: due and not cancelled (the old half of a reschedule is not
# counted as booked at all, so it is not in *_due either).
_PCF_EXPECTED = _minus(_sum("triage_due", "solution_due"), "triage_canceled", "solution_canceled")
_PCF_DONE = _minus(_PCF_EXPECTED, "pcf_pending")


def _rate(name: str, label: str, num: Term, den: Term, description: str = "") -> KPI:
    return KPI(name, label, num, den, "percent", description)


def _money(name: str, label: str, num: Term, den: Term | None, description: str = "") -> KPI:
    return KPI(name, label, num, den, "money", description)


def _efficiency(name: str, label: str, num: Term, den: Term, description: str = "") -> KPI:
    # Shown as whole percentages in KPIS.md ("3,900%"): a return on spend, not a rate.
    return KPI(name, label, num, den, "percent", description, decimals=0)


def _multiple(name: str, label: str, num: Term, den: Term, description: str = "") -> KPI:
    # Return on ad spend is read as a multiple by the trade ("4.0×"); KPIS.md's "4,000%" is 40×.
    return KPI(name, label, num, den, "multiple", description)


KPIS: tuple[KPI, ...] = (
    _rate("triage_show_rate", "Triage show rate", "triage_attended", "triage_due"),
    _rate("triage_no_show_rate", "Triage no-show rate", "triage_no_show", "triage_due"),
    _rate("triage_cancel_rate", "Triage cancel rate", "triage_canceled", "triage_due"),
    _rate(
        "triage_held_show_rate",
        "Triage held show rate",
        "triage_attended",
        _sum("triage_attended", "triage_no_show"),
        "Show rate of triage calls that were not cancelled.",
    ),
    _rate("solution_show_rate", "Solution show rate", "solution_attended", "solution_due"),
    _rate("solution_no_show_rate", "Solution no-show rate", "solution_no_show", "solution_due"),
    _rate("solution_cancel_rate", "Solution cancel rate", "solution_canceled", "solution_due"),
    _rate(
        "solution_held_show_rate",
        "Solution held show rate",
        "solution_attended",
        _sum("solution_attended", "solution_no_show"),
        "Show rate of solution calls that were not cancelled.",
    ),
    _rate(
        "triage_to_solution_rate", "Triage to solution rate", "solution_booked", "triage_attended"
    ),
    _rate("direct_booking_rate", "Direct booking rate", "solution_direct_booked", "leads"),
    _rate("offer_rate", "Offer rate", "offers_made", "solution_attended"),
    _rate("close_rate", "Close rate", "deals_won", "solution_attended"),
    _rate("lead_to_close_rate", "Lead to close rate", "deals_won", "leads"),
    _money("cpl", "Cost per lead", "ad_spend", "leads"),
    _money("cost_per_triage_booked", "Cost per triage booked", "ad_spend", "triage_booked"),
    _money("cost_per_solution_booked", "Cost per solution booked", "ad_spend", "solution_booked"),
    _money(
        "cost_per_solution_attended",
        "Cost per solution attended (CPC2S)",
        "ad_spend",
        "solution_attended",
    ),
    _money(
        "cash_per_solution_booked", "Cash per solution booked", "cash_collected", "solution_booked"
    ),
    _money(
        "cash_per_solution_attended",
        "Cash per solution attended",
        "cash_collected",
        "solution_attended",
    ),
    _money("epc2", "Revenue per solution attended (EPC2)", "revenue", "solution_attended"),
    _money("profit", "Profit", _PROFIT, None, "Revenue minus ad spend."),
    _money(
        "profit_per_solution_attended",
        "Profit per solution attended",
        _PROFIT,
        "solution_attended",
    ),
    _multiple("roas", "ROAS (cash efficiency)", "revenue", "ad_spend"),
    _multiple("cash_roas", "Cash ROAS", "cash_collected", "ad_spend"),
    _efficiency("profit_efficiency", "Profit efficiency", _PROFIT, "ad_spend"),
    _money("avg_contract_value", "Average contract value", "revenue", "deals_won"),
    _money("avg_cash_per_deal", "Average cash per deal", "cash_collected", "deals_won"),
    _rate("collection_rate", "Collection rate", "cash_collected", "revenue"),
    KPI("calls_to_close", "Calls to close", "solution_attended", "deals_won", "number"),
    _rate(
        "pcf_completion_rate",
        "PCF completion rate",
        _PCF_DONE,
        _PCF_EXPECTED,
        "Due, not cancelled meetings with a post-call form.",
    ),
)
KPIS_BY_NAME: Mapping[str, KPI] = {kpi.name: kpi for kpi in KPIS}
