"""Campaign ratios and the budget recommendations of ATTRIBUTION.md (seed 003 rules).

Every figure is per campaign for the chosen period and model. Averages are the plain mean of the
campaigns' ratios over the campaigns with spend in the period (a campaign whose ratio has no value,
e.g. CAC without a credited customer, is left out of that average).

Money at stake ranks the recommendations: ``spend x distance`` where the distance is relative to
the average the rule compares with, ``|ratio - average| / average`` (ROAS rules against the
average ROAS, the CAC rule against the average CAC, the CTR rule against the average CTR). The
review rule (spend, no credited conversion, 30 days or more) puts the whole spend at stake
(distance 1: nothing came back), as does any rule whose average is 0 or has no value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from attribution.kpis.compute import safe_ratio
from attribution.kpis.display import format_money, format_multiple, format_percent

__all__ = [
    "RULES",
    "CampaignFigures",
    "Recommendation",
    "cac",
    "cash_roas",
    "cpc",
    "cpl",
    "ctr",
    "recommend",
    "roas",
]

_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)
_CENT = Decimal("0.01")

HIGH_ROAS = Decimal("1.5")
LOW_ROAS = Decimal("0.7")
LOW_CAC = Decimal("0.5")
LOW_CTR = Decimal("0.005")
CTR_MIN_IMPRESSIONS = 1000
REVIEW_AFTER_DAYS = 30

RULES = {
    "increase_budget": "ROAS above 1.5x the average ROAS of the campaigns with spend",
    "reduce_budget": "ROAS below 0.7x the average ROAS of the campaigns with spend",
    "efficient_acquisition": "CAC below half the average CAC of the campaigns with spend",
    "refresh_creative": "CTR under 0.5% with more than 1,000 impressions",
    "review": "spend and no credited conversion after 30 days",
}


@dataclass(frozen=True, slots=True)
class CampaignFigures:
    channel: str
    campaign: str
    spend: Decimal
    revenue: Decimal  # credited revenue under the chosen model
    cash: Decimal  # credited net cash under the chosen model
    customers: Decimal  # credited conversions, fractional
    leads: int  # leads first touched by the campaign
    impressions: int
    clicks: int
    days_since_first_spend: int


@dataclass(frozen=True, slots=True)
class Recommendation:
    kind: str  # a key of RULES
    channel: str
    campaign: str
    confidence: str | None  # high, medium, insight; None where ATTRIBUTION.md gives none
    at_stake: Decimal  # spend x distance from the average, to the cent
    value: Decimal | None  # the campaign's figure the rule reads (ROAS, CAC, CTR; None: review)
    average: Decimal | None  # the average it was compared with
    spend: Decimal
    sentence: str
    numbers: dict[str, Decimal | int | None] = field(default_factory=dict)


def _d(value: Decimal | int) -> Decimal:
    return Decimal(value)


def roas(f: CampaignFigures) -> Decimal | None:
    return safe_ratio(_d(f.revenue), _d(f.spend))


def cash_roas(f: CampaignFigures) -> Decimal | None:
    return safe_ratio(_d(f.cash), _d(f.spend))


def cac(f: CampaignFigures) -> Decimal | None:
    return safe_ratio(_d(f.spend), _d(f.customers))


def cpl(f: CampaignFigures) -> Decimal | None:
    return safe_ratio(_d(f.spend), _d(f.leads))


def ctr(f: CampaignFigures) -> Decimal | None:
    return safe_ratio(_d(f.clicks), _d(f.impressions))


def cpc(f: CampaignFigures) -> Decimal | None:
    return safe_ratio(_d(f.spend), _d(f.clicks))


def _average(
    figures: Sequence[CampaignFigures], ratio: Callable[[CampaignFigures], Decimal | None]
) -> Decimal | None:
    values = [v for v in (ratio(f) for f in figures) if v is not None]
    if not values:
        return None
    with localcontext(_CONTEXT):
        return sum(values, Decimal(0)) / len(values)


def _at_stake(spend: Decimal, value: Decimal | None, average: Decimal | None) -> Decimal:
    with localcontext(_CONTEXT):
        if value is None or not average:
            distance = Decimal(1)
        else:
            distance = abs(value - average) / abs(average)
        return (spend * distance).quantize(_CENT)


def recommend(
    figures: Sequence[CampaignFigures], *, currency: str | None = None
) -> list[Recommendation]:
    """Every rule that fires, most money at stake first (then rule order, channel, campaign).

    A campaign can get several recommendations (e.g. reduce budget and refresh the creative).
    """
    spent = [f for f in figures if f.spend > 0]
    average_roas = _average(spent, roas)
    average_cac = _average(spent, cac)
    average_ctr = _average(spent, ctr)
    found: list[Recommendation] = []

    def add(kind, f, confidence, value, average, sentence, **numbers) -> None:
        found.append(
            Recommendation(
                kind=kind,
                channel=f.channel,
                campaign=f.campaign,
                confidence=confidence,
                at_stake=_at_stake(f.spend, value, average)
                if kind != "review"
                else f.spend.quantize(_CENT),
                value=value,
                average=average,
                spend=f.spend,
                sentence=sentence,
                numbers={"spend": f.spend, **numbers},
            )
        )

    for f in spent:
        name = f"{f.channel} / {f.campaign}" if f.campaign else f.channel
        r = roas(f)
        if r is not None and average_roas:
            said = (
                f"{name}: ROAS {format_multiple(r)} against an average of "
                f"{format_multiple(average_roas)} over {len(spent)} campaigns with spend"
            )
            if r > HIGH_ROAS * average_roas:
                add(
                    "increase_budget",
                    f,
                    "high",
                    r,
                    average_roas,
                    f"{said} (above 1.5×): increase the budget.",
                    roas=r,
                    average_roas=average_roas,
                )
            elif r < LOW_ROAS * average_roas:
                add(
                    "reduce_budget",
                    f,
                    "medium",
                    r,
                    average_roas,
                    f"{said} (below 0.7×): reduce the budget.",
                    roas=r,
                    average_roas=average_roas,
                )
        c = cac(f)
        if c is not None and average_cac and c < LOW_CAC * average_cac:
            add(
                "efficient_acquisition",
                f,
                "insight",
                c,
                average_cac,
                f"{name}: CAC {format_money(c, currency)} is below half the average "
                f"{format_money(average_cac, currency)}: efficient acquisition.",
                cac=c,
                average_cac=average_cac,
            )
        t = ctr(f)
        if t is not None and t < LOW_CTR and f.impressions > CTR_MIN_IMPRESSIONS:
            add(
                "refresh_creative",
                f,
                None,
                t,
                average_ctr,
                f"{name}: CTR {format_percent(t, 2)} on {f.impressions:,} impressions is under "
                f"0.5%: refresh the creative.",
                ctr=t,
                average_ctr=average_ctr,
                impressions=f.impressions,
            )
        if f.customers == 0 and f.days_since_first_spend >= REVIEW_AFTER_DAYS:
            add(
                "review",
                f,
                None,
                None,
                None,
                f"{name}: {format_money(f.spend, currency)} spent over "
                f"{f.days_since_first_spend} days and no credited conversion: review it.",
                days_since_first_spend=f.days_since_first_spend,
            )
    order = list(RULES)
    found.sort(key=lambda r: (-r.at_stake, order.index(r.kind), r.channel, r.campaign))
    return found
