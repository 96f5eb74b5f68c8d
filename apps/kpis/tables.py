"""The dashboard's tables as rows of display cells: the page and the CSV download share them, so
a downloaded table always holds exactly the numbers on screen."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from attribution.kpis import EMPTY, KPIS_BY_NAME, format_kpi

__all__ = ["Column", "Table", "build_tables"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "count"  # count, money, kpi, text
    sortable: bool = True


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[list[str]] = field(default_factory=list)
    sort: str = ""  # "-cash_collected": the column key, "-" for descending
    links: dict[str, str] = field(default_factory=dict)  # column key -> query string sorting by it

    @property
    def header(self) -> list[str]:
        return [column.label for column in self.columns]

    @property
    def header_cells(self) -> list[tuple[Column, str | None, str]]:
        cells = []
        for column in self.columns:
            arrow = (
                " ↓" if self.sort == f"-{column.key}" else " ↑" if self.sort == column.key else ""
            )
            cells.append((column, self.links.get(column.key), arrow))
        return cells


def _cell(column: Column, values: dict) -> str:
    value = values.get(column.key)
    if column.kind == "text":
        return str(value) if value not in (None, "") else "(none)"
    if value is None:
        return EMPTY
    if column.kind == "kpi":
        return format_kpi(KPIS_BY_NAME[column.key], value)
    if column.kind == "money":
        return f"{Decimal(value):,.2f}"
    return f"{value:,}"


def _sorted(items: list[dict], sort: str, columns: list[Column]) -> list[dict]:
    key = sort.lstrip("-")
    if key not in {column.key for column in columns if column.sortable}:
        return items
    descending = sort.startswith("-")
    present = [item for item in items if item.get(key) is not None]
    missing = [item for item in items if item.get(key) is None]  # "—" always last
    present.sort(key=lambda item: item[key], reverse=descending)
    return present + missing


def _table(name, title, columns, items, sort) -> Table:
    table = Table(name, title, columns, sort=sort)
    table.rows = [[_cell(c, item) for c in columns] for item in _sorted(items, sort, columns)]
    return table


FUNNEL = (
    ("leads", "Leads"),
    ("triage_booked", "Triage booked"),
    ("triage_attended", "Triage attended"),
    ("solution_booked", "Solution booked"),
    ("solution_attended", "Solution attended"),
    ("deals_won", "Won"),
)

CLOSER_COLUMNS = [
    Column("name", "Closer", "text"),
    Column("solution_booked", "Solution booked"),
    Column("solution_attended", "Solution attended"),
    Column("solution_show_rate", "Show rate", "kpi"),
    Column("offers_made", "Offers"),
    Column("deals_won", "Won"),
    Column("close_rate", "Close rate", "kpi"),
    Column("revenue", "Revenue", "money"),
    Column("cash_collected", "Cash", "money"),
]
SETTER_COLUMNS = [
    Column("name", "Setter", "text"),
    Column("triage_booked", "Triage booked"),
    Column("triage_attended", "Triage attended"),
    Column("triage_show_rate", "Show rate", "kpi"),
    Column("solution_booked", "Solution booked"),
    Column("triage_to_solution_rate", "Triage to solution", "kpi"),
    Column("deals_won", "Won"),
    Column("revenue", "Revenue", "money"),
    Column("cash_collected", "Cash", "money"),
]
SOURCE_COLUMNS = [
    Column("source", "Source", "text"),
    Column("campaign", "Campaign", "text"),
    Column("leads", "Leads"),
    Column("ad_spend", "Ad spend", "money"),
    Column("cpl", "CPL", "kpi"),
    Column("revenue", "Revenue", "money"),
    Column("roas", "ROAS", "kpi"),
    Column("cash_collected", "Cash", "money"),
]
TREND_COLUMNS = [
    Column("month", "Month", "text", sortable=False),
    Column("cash_collected", "Cash", "money", sortable=False),
    Column("revenue", "Revenue", "money", sortable=False),
    Column("ad_spend", "Ad spend", "money", sortable=False),
]
FUNNEL_COLUMNS = [
    Column("stage", "Stage", "text", sortable=False),
    Column("count", "Count", sortable=False),
]
SORTABLE = {"closers": "-cash_collected", "setters": "-cash_collected", "sources": "-leads"}


def _flat(row: dict, **extra) -> dict:
    return {**row["base"], **row.get("kpis", {}), **extra}


def build_tables(data: dict, sorts: dict[str, str]) -> dict[str, Table]:
    funnel = [{"stage": label, "count": data["base"][key]} for key, label in FUNNEL]
    trend = [_flat(m, month=m["month"].strftime("%Y-%m")) for m in data["trend"]]
    closers = [_flat(r, name=r["name"]) for r in data["closers"]]
    setters = [_flat(r, name=r["name"]) for r in data["setters"]]
    sources = [_flat(r, source=r["source"], campaign=r["campaign"]) for r in data["sources"]]
    return {
        "funnel": _table("funnel", "Funnel", FUNNEL_COLUMNS, funnel, ""),
        "trend": _table("trend", "Monthly cash, revenue and ad spend", TREND_COLUMNS, trend, ""),
        "closers": _table(
            "closers", "Closers", CLOSER_COLUMNS, closers, sorts.get("closers", SORTABLE["closers"])
        ),
        "setters": _table(
            "setters", "Setters", SETTER_COLUMNS, setters, sorts.get("setters", SORTABLE["setters"])
        ),
        "sources": _table(
            "sources",
            "Sources and campaigns",
            SOURCE_COLUMNS,
            sources,
            sorts.get("sources", SORTABLE["sources"]),
        ),
    }
