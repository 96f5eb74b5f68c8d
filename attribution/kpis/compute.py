"""Derived KPIs from base counts, their display, and what a rep filter leaves without a value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext

from attribution.kpis.definitions import KPI, KPIS, Expr, Term
from attribution.kpis.display import format_money

__all__ = [
    "EMPTY",
    "REP_UNSCOPED_COUNTS",
    "apply_rep_filter",
    "compute_kpi",
    "compute_kpis",
    "format_kpi",
    "hidden_by_rep_filter",
    "safe_ratio",
]

EMPTY = "—"

# Leads and ad spend belong to marketing, not to a rep: a closer or setter filter cannot split them.
REP_UNSCOPED_COUNTS = frozenset({"leads", "ad_spend"})

# Fixed here rather than taken from the thread's context, so results never depend on a caller's
# decimal settings.
_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)


def safe_ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """numerator / denominator, or None when the denominator is 0 (shown as "—", never 0)."""
    if denominator == 0:
        return None
    with localcontext(_CONTEXT):
        return numerator / denominator


def _as_decimal(name: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"base count {name} must be an int or Decimal, not {type(value).__name__}")
    return Decimal(value)


def _term(term: Term, base: Mapping[str, Decimal]) -> Decimal:
    if isinstance(term, Expr):
        with localcontext(_CONTEXT):
            return term(base)
    return base[term]


def compute_kpi(kpi: KPI, base: Mapping[str, Decimal | int]) -> Decimal | None:
    """None when the KPI is undefined: a zero denominator or a base count without a value."""
    if any(base.get(name) is None for name in kpi.inputs):
        return None
    values = {name: _as_decimal(name, base[name]) for name in kpi.inputs}
    numerator = _term(kpi.numerator, values)
    if kpi.denominator is None:
        return numerator
    return safe_ratio(numerator, _term(kpi.denominator, values))


def compute_kpis(
    base: Mapping[str, Decimal | int | None], *, kpis: Iterable[KPI] = KPIS
) -> dict[str, Decimal | None]:
    """Every KPI from one set of base counts. Rates are fractions (0.75), money is Decimal.

    A base count that is absent or None has no value (e.g. leads under a closer filter), and so
    has every KPI built on it.
    """
    return {kpi.name: compute_kpi(kpi, base) for kpi in kpis}


def format_kpi(kpi: KPI, value: Decimal | None, currency: str | None = None) -> str:
    """ "75.0%", "40.00×", "3,333.33" ("$3,333.33" with a currency), "3.0"; "—" without a value."""
    if value is None:
        return EMPTY
    if not isinstance(value, Decimal):
        value = Decimal(str(value))  # a JSON-ready float from kpi_summary
    if currency and kpi.unit == "money":
        return format_money(value, currency)
    shown = value * 100 if kpi.unit == "percent" else value
    quantum = Decimal(1).scaleb(-kpi.display_decimals)
    # Half-up, as people round by hand: 2/3 -> 66.7%, 6,666.665 -> 6,666.67.
    with localcontext(_CONTEXT):
        rounded = shown.quantize(quantum, rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)  # no "-0.00"
    text = f"{rounded:,.{kpi.display_decimals}f}"
    return f"{text}{UNIT_SUFFIX.get(kpi.unit, '')}"


UNIT_SUFFIX = {"percent": "%", "multiple": "×"}


def hidden_by_rep_filter(*, kpis: Iterable[KPI] = KPIS) -> frozenset[str]:
    """Names of the base counts and KPIs that have no value under a closer or setter filter."""
    return REP_UNSCOPED_COUNTS | {kpi.name for kpi in kpis if kpi.inputs & REP_UNSCOPED_COUNTS}


def apply_rep_filter(
    base: Mapping[str, Decimal | int | None], *, closer: object = None, setter: object = None
) -> dict[str, Decimal | int | None]:
    """The base counts as a rep-filtered view may show them: leads and ad spend emptied.

    Feeding the result to compute_kpis leaves cpl, roas, lead_to_close_rate... without a value.
    """
    if closer is None and setter is None:
        return dict(base)
    return {name: (None if name in REP_UNSCOPED_COUNTS else value) for name, value in base.items()}
