"""The attribution page's tables as rows of display cells, each cell optionally a link to the
journeys behind it: the page and the CSV download share them (the same numbers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.urls import reverse

from apps.marketing.forms import MODEL_LABELS
from apps.marketing.selectors import Report, Row
from attribution.kpis.display import (
    EMPTY,
    format_amount,
    format_money,
    format_multiple,
    format_number,
    format_percent,
    money_label,
)
from attribution.touch.budget import RULES

__all__ = ["Cell", "Table", "build_tables"]


@dataclass(frozen=True)
class Cell:
    text: str
    href: str | None = None


@dataclass
class Table:
    name: str
    title: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)

    @property
    def csv_rows(self) -> list[list[str]]:
        return [[cell.text for cell in row] for row in self.rows]


def _drill(query: str, channel: str | None, campaign: str | None) -> str:
    extra = {}
    if channel is not None:
        extra["channel"] = channel
    if campaign is not None:
        extra["campaign"] = campaign
    joined = "&".join(part for part in (query, urlencode(extra)) if part)
    return f"{reverse('marketing:journeys')}?{joined}"


def _row_cells(row: Row, *, currency: str, query: str, campaign: bool) -> list[Cell]:
    link = _drill(query, row.channel, row.campaign if campaign else None)

    def money(value):
        return format_amount(value, currency) if value is not None else EMPTY

    cells = [Cell(row.channel, link)]
    if campaign:
        cells.append(Cell(row.campaign or "(none)", link))
    cells += [
        Cell(money(row.credited), link),
        Cell(format_number(row.conversions, 2) if row.conversions is not None else EMPTY, link),
        Cell(money(row.credited_net_cash), link),
        Cell(money(row.credited_revenue), link),
        Cell(format_amount(row.spend, currency)),
        Cell(format_multiple(row.roas) if row.credited_revenue is not None else EMPTY),
        Cell(format_multiple(row.cash_roas) if row.credited_net_cash is not None else EMPTY),
        Cell(money(row.cac)),
        Cell(format_number(row.leads)),
        Cell(money(row.cpl)),
        Cell(format_number(row.impressions)),
        Cell(format_number(row.clicks)),
        Cell(format_percent(row.ctr, 2)),
        Cell(money(row.cpc)),
        Cell(format_number(row.platform_conversions, 2)),
    ]
    return cells


def _header(currency: str, value_label: str, *, campaign: bool) -> list[str]:
    head = ["Channel"] + (["Campaign"] if campaign else [])
    return [
        *head,
        money_label(f"Credited {value_label}", currency),
        "Conversions",
        money_label("Credited net cash", currency),
        money_label("Credited revenue", currency),
        money_label("Spend", currency),
        "ROAS",
        "Cash ROAS",
        money_label("CAC", currency),
        "Leads",
        money_label("CPL", currency),
        "Impressions",
        "Clicks",
        "CTR",
        money_label("CPC", currency),
        "Platform-reported conversions",
    ]


def build_tables(report: Report, *, currency: str, query: str, value_label: str) -> dict:
    tables = {
        "channels": Table(
            "channels",
            "By channel",
            _header(currency, value_label, campaign=False),
            [
                _row_cells(r, currency=currency, query=query, campaign=False)
                for r in report.channels
            ],
        ),
        "campaigns": Table(
            "campaigns",
            "By campaign",
            _header(currency, value_label, campaign=True),
            [
                _row_cells(r, currency=currency, query=query, campaign=True)
                for r in report.campaigns
            ],
        ),
    }
    models = list(report.compare)
    channels = sorted({ch for credits in report.compare.values() for ch in credits})
    tables["compare"] = Table(
        "compare",
        "Models compared",
        ["Channel"] + [money_label(MODEL_LABELS[m], currency) for m in models],
        [
            [Cell(ch, _drill(query, ch, None))]
            + [Cell(format_amount(report.compare[m].get(ch), currency)) for m in models]
            for ch in channels
        ],
    )
    tables["paths"] = Table(
        "paths",
        "Top conversion paths",
        [
            "Path",
            "Conversions",
            money_label(value_label.capitalize(), currency),
            "Days to conversion",
            "Touches to conversion",
        ],
        [
            [
                Cell(" > ".join(p["channels"])),
                Cell(format_number(p["conversions"])),
                Cell(format_amount(p["value"], currency)),
                Cell(p["mean_days"]),
                Cell(p["mean_touches"]),
            ]
            for p in report.paths
        ],
    )
    tables["recommendations"] = Table(
        "recommendations",
        "Budget recommendations",
        [
            "Channel",
            "Campaign",
            "Advice",
            "Confidence",
            money_label("At stake", currency),
            "Figure",
            "Average",
            "Rule",
        ],
        [
            [
                Cell(r.channel, _drill(query, r.channel, None)),
                Cell(r.campaign or "(none)", _drill(query, r.channel, r.campaign)),
                Cell(r.sentence),
                Cell(r.confidence or ""),
                Cell(format_amount(r.at_stake, currency)),
                Cell(_figure(r.kind, r.value, currency)),
                Cell(_figure(r.kind, r.average, currency)),
                Cell(RULES.get(r.kind, r.kind)),
            ]
            for r in report.recommendations
        ],
    )
    return tables


def _figure(kind: str, value, currency: str) -> str:
    if value is None:
        return EMPTY
    if kind in ("increase_budget", "reduce_budget"):
        return format_multiple(value)
    if kind == "refresh_creative":
        return format_percent(value, 2)
    return format_money(value, currency)
