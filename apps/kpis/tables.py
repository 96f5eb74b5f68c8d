"""The dashboard's tables as rows of display cells: the page and the CSV download share them, so
a downloaded table always holds exactly the numbers on screen."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from attribution.kpis import EMPTY, KPIS_BY_NAME, format_kpi
from attribution.kpis.activity import format_duration
from attribution.kpis.display import format_amount, format_number, format_percent, money_label
from attribution.kpis.funnel import funnel_stages

__all__ = ["Column", "Table", "build_tables"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "count"  # count, money, kpi, text, share, duration, decimal1
    sortable: bool = True


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[list[str]] = field(default_factory=list)
    sort: str = ""  # "-cash_collected": the column key, "-" for descending
    links: dict[str, str] = field(default_factory=dict)  # column key -> query string sorting by it
    currency: str = ""

    @property
    def header(self) -> list[str]:
        return [_label(column, self.currency) for column in self.columns]

    @property
    def header_cells(self) -> list[tuple[Column, str | None, str, str]]:
        cells = []
        for column in self.columns:
            arrow = (
                " ↓" if self.sort == f"-{column.key}" else " ↑" if self.sort == column.key else ""
            )
            cells.append((column, self.links.get(column.key), arrow, _label(column, self.currency)))
        return cells


def _is_money(column: Column) -> bool:
    kpi = KPIS_BY_NAME.get(column.key) if column.kind == "kpi" else None
    return column.kind == "money" or (kpi is not None and kpi.unit == "money")


def _label(column: Column, currency: str) -> str:
    # Money columns name their currency once in the title, so every cell is a plain number
    # that a spreadsheet reads as one.
    return money_label(column.label, currency) if currency and _is_money(column) else column.label


def _cell(column: Column, values: dict, currency: str = "") -> str:
    value = values.get(column.key)
    if column.kind == "text":
        return str(value) if value not in (None, "") else "(none)"
    if value is None:
        return EMPTY
    if _is_money(column):
        return format_amount(Decimal(value), currency)
    if column.kind == "kpi":
        return format_kpi(KPIS_BY_NAME[column.key], value)
    if column.kind == "share":
        return format_percent(value)
    if column.kind == "duration":
        return format_duration(value)
    if column.kind == "decimal1":
        return format_number(value, 1)
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


def _table(name, title, columns, items, sort, currency="") -> Table:
    table = Table(name, title, columns, sort=sort, currency=currency)
    table.rows = [
        [_cell(c, item, currency) for c in columns] for item in _sorted(items, sort, columns)
    ]
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
# Setter activity (attribution.kpis.activity): on the setter leaderboard and in its own table.
ACTIVITY_COLUMNS = [
    Column("dials", "Dials"),
    Column("connected", "Connected"),
    Column("talk_seconds", "Talk time", "duration"),
    Column("avg_call_seconds", "Avg call", "duration"),
    Column("bookings_per_100_dials", "Bookings / 100 dials", "decimal1"),
]
ACTIVITY_DAY_COLUMNS = [
    Column("day", "Day", "text", sortable=False),
    Column("dials", "Dials", sortable=False),
    Column("connected", "Connected", sortable=False),
    Column("connect_rate", "Connect rate", "share", sortable=False),
    Column("talk_seconds", "Talk time", "duration", sortable=False),
    Column("avg_call_seconds", "Avg call", "duration", sortable=False),
    Column("bookings", "Bookings", sortable=False),
    Column("bookings_per_100_dials", "Bookings / 100 dials", "decimal1", sortable=False),
]
UTILIZATION_COLUMNS = [
    Column("week", "Week of", "text", sortable=False),
    Column("host", "Host", "text", sortable=False),
    Column("booked", "Booked", sortable=False),
    Column("available_slots", "Available slots", sortable=False),
    Column("utilization", "Utilization", "share", sortable=False),
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
    *ACTIVITY_COLUMNS,
]
SOURCE_COLUMNS = [
    Column("source", "Source", "text"),
    Column("lead_source", "Lead source (CRM)", "text"),
    Column("traffic_type", "Traffic type", "text"),
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
    Column("of_first", "Of first stage", "share", sortable=False),
    Column("of_previous", "Of previous stage", "share", sortable=False),
]
SORTABLE = {"closers": "-cash_collected", "setters": "-cash_collected", "sources": "-leads"}


def _flat(row: dict, **extra) -> dict:
    return {**row["base"], **row.get("kpis", {}), **extra}


_ACTIVITY_KEYS = ("dials", "connected", "talk_seconds", "avg_call_seconds", "bookings",
                  "connect_rate", "bookings_per_100_dials")  # fmt: skip


def _activity(counts) -> dict:
    """A row's setter activity as cells' values; None (no value) without activity."""
    if counts is None:
        return dict.fromkeys(_ACTIVITY_KEYS)
    return {key: getattr(counts, key) for key in _ACTIVITY_KEYS}


def activity_rows(days) -> list[dict]:
    return [{"day": day.isoformat(), **_activity(counts)} for day, counts in days]


def utilization_table(weeks) -> Table:
    """meetings.utilization.HostWeek rows: booked ÷ available slots per host and week."""
    rows = [
        {
            "week": w.week_start.isoformat(),
            "host": w.host,
            "booked": w.booked,
            "available_slots": w.available_slots,
            "utilization": w.utilization,
        }
        for w in weeks
    ]
    return _table("utilization", "Calendar utilization by week", UTILIZATION_COLUMNS, rows, "")


def activity_table(days, title: str = "Setter activity by day") -> Table:
    """(day, ActivityCounts) pairs as the day table of setter activity."""
    return _table("activity", title, ACTIVITY_DAY_COLUMNS, activity_rows(days), "")


def build_tables(data: dict, sorts: dict[str, str], *, currency: str = "") -> dict[str, Table]:
    funnel = [
        {"stage": s.label, "count": s.count, "of_first": s.of_first, "of_previous": s.of_previous}
        for s in funnel_stages(data["base"], FUNNEL)
    ]
    trend = [_flat(m, month=m["month"].strftime("%Y-%m")) for m in data["trend"]]
    closers = [_flat(r, name=r["name"]) for r in data["closers"]]
    setters = [_flat(r, name=r["name"], **_activity(r.get("activity"))) for r in data["setters"]]
    sources = [
        _flat(r, **{k: r.get(k, "") for k in ("source", "lead_source", "traffic_type", "campaign")})
        for r in data["sources"]
    ]

    def table(name, title, columns, items):
        return _table(
            name, title, columns, items, sorts.get(name, SORTABLE.get(name, "")), currency
        )

    return {
        "funnel": table("funnel", "Funnel", FUNNEL_COLUMNS, funnel),
        "trend": table("trend", "Monthly cash, revenue and ad spend", TREND_COLUMNS, trend),
        "closers": table("closers", "Closers", CLOSER_COLUMNS, closers),
        "setters": table("setters", "Setters", SETTER_COLUMNS, setters),
        "sources": table("sources", "Sources and campaigns", SOURCE_COLUMNS, sources),
        "activity": activity_table(data.get("activity_days") or []),
        "utilization": utilization_table(data.get("utilization_weeks") or []),
    }
