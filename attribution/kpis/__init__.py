"""KPI definitions (KPIS.md) and pure formulas over base counts."""

from attribution.kpis.compute import (
    EMPTY,
    REP_UNSCOPED_COUNTS,
    apply_rep_filter,
    compute_kpi,
    compute_kpis,
    format_kpi,
    hidden_by_rep_filter,
    safe_ratio,
)
from attribution.kpis.definitions import BASE_COUNTS, KPI, KPIS, KPIS_BY_NAME, Expr, Unit

__all__ = [
    "BASE_COUNTS",
    "EMPTY",
    "KPI",
    "KPIS",
    "KPIS_BY_NAME",
    "REP_UNSCOPED_COUNTS",
    "Expr",
    "Unit",
    "apply_rep_filter",
    "compute_kpi",
    "compute_kpis",
    "format_kpi",
    "hidden_by_rep_filter",
    "safe_ratio",
]
