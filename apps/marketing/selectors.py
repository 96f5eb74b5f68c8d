"""Attribution reads: one selector (``attribution_report``) behind the page, its CSV and the
``attribution`` command, so all three show the same numbers.

Costly parts are cached in the cache (Redis in production) keyed by org, period, model, value,
lookback and the org's input version (``JourneyState.version``, bumped by every change of a
journey, a campaign day, ad spend or the channel table), so a stale figure is never served and
nothing needs invalidating. The data-driven models (Markov, Shapley) are computed by a Celery
task; until it has run, the page says "computing…" and polls.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Min, Q, Sum

from apps.kpis.models import AdSpend
from apps.kpis.selectors import spread_ad_spend
from apps.marketing.models import CampaignDay, ChannelMapping, Journey, JourneyKind, JourneyState
from apps.orgs.calendar import org_period_bounds
from apps.orgs.models import Organization
from attribution.kpis.compute import safe_ratio
from attribution.touch import budget, journeys, models, paths
from attribution.touch.channel_map import CHANNEL_LABELS, channel_for

__all__ = [
    "DATA_DRIVEN",
    "MODEL_NAMES",
    "VALUES",
    "Query",
    "attribution_report",
    "attribution_result",
    "channel_table",
    "journeys_behind",
]

MODEL_NAMES: tuple[str, ...] = tuple(models.MODELS)
DATA_DRIVEN = frozenset({"markov", "shapley"})
VALUES = ("net_cash", "revenue")
_KIND = {"net_cash": JourneyKind.PAYMENT, "revenue": JourneyKind.DEAL}
CACHE_SECONDS = 24 * 3600
# A rule-based model over more conversions than this is computed by the task too: on a cache
# miss the page answers at once ("computing…") instead of spending seconds in the request.
INLINE_JOURNEYS = 2000
PENDING_SECONDS = 600
ZERO = Decimal(0)


@dataclass(frozen=True)
class Query:
    start: date
    end: date
    model: str = "linear"
    value: str = "net_cash"
    lookback_days: int = 90

    def key(self, org_id: int, version: str, model: str, value: str) -> str:
        return (
            f"marketing:attr:{org_id}:v{version}:{self.start}:{self.end}:{model}:{value}"
            f":{self.lookback_days}"
        )


def input_version(*, org: Organization) -> str:
    """The org's input token: changes with every change of what the figures are made of."""
    return JourneyState.objects.filter(org=org).values_list("token", flat=True).first() or "0"


def journeys_built(*, org: Organization) -> bool:
    return JourneyState.objects.filter(org=org, built_at__isnull=False).exists()


def channel_table(*, org: Organization) -> dict[str, str]:
    return dict(ChannelMapping.objects.filter(org=org).values_list("source", "channel"))


# --- journeys --------------------------------------------------------------------------------


class _Channels(dict):
    """(normalised source, touch kind) -> channel, for one read of many journeys: the same few
    sources repeat over every touch."""

    def __init__(self, mapping: dict[str, str]):
        super().__init__()
        self.mapping = mapping

    def __missing__(self, key: tuple[str, str]) -> str:
        self[key] = channel = channel_for(key[0], kind=key[1], mapping=self.mapping)
        return channel


def _touch(raw: list, channels: _Channels) -> journeys.Touch:
    at, source, campaign, kind, milestone = raw
    return journeys.Touch(
        at=datetime.fromtimestamp(at, tz=UTC),
        channel=channels[source, kind],
        campaign=campaign,
        kind=kind,
        milestone=milestone or None,
    )


def _converting(*, org, query: Query, value: str, mapping) -> list[journeys.Journey]:
    lo, hi = org_period_bounds(org, query.start, query.end)
    rows = Journey.objects.filter(
        org=org, kind=_KIND[value], converted_at__gte=lo, converted_at__lt=hi
    ).values_list("pk", "touches", "converted_at", "value")
    out = []
    channels = _Channels(mapping)
    lookback = query.lookback_days * 86400
    for pk, touches, converted_at, amount in rows.iterator(chunk_size=5000):
        # Touches older than the lookback are dropped before they are built (in_window would).
        oldest = converted_at.timestamp() - lookback
        journey = journeys.Journey(
            key=str(pk),
            touches=tuple(_touch(t, channels) for t in touches if t[0] >= oldest - 1),
            converted_at=converted_at,
            value=amount,
        )
        out.append(journeys.in_window(journey, lookback_days=query.lookback_days))
    return out


def _not_converting(*, org, query: Query, value: str, mapping) -> list[journeys.Journey]:
    """Contacts with a touch in the period and no conversion in it: paths ending in null."""
    lo, hi = org_period_bounds(org, query.start, query.end)
    converted = Journey.objects.filter(
        org=org, kind=_KIND[value], converted_at__gte=lo, converted_at__lt=hi
    ).values("contact_id")
    rows = (
        Journey.objects.filter(
            org=org, kind=JourneyKind.CONTACT, last_touch_at__gte=lo, first_touch_at__lt=hi
        )
        .exclude(contact_id__in=converted)
        .values_list("pk", "touches")
    )
    lo_s, hi_s = lo.timestamp(), hi.timestamp()
    out = []
    channels = _Channels(mapping)
    for pk, touches in rows.iterator(chunk_size=5000):
        inside = tuple(_touch(t, channels) for t in touches if lo_s <= t[0] < hi_s)
        if inside:
            out.append(journeys.Journey(key=str(pk), touches=inside, converted_at=None, value=ZERO))
    return out


# --- one model's result ----------------------------------------------------------------------


def _money(value) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def _compute(*, org, query: Query, model: str, value: str) -> dict:
    mapping = channel_table(org=org)
    converting = _converting(org=org, query=query, value=value, mapping=mapping)
    population = converting
    if model in DATA_DRIVEN:
        population = converting + _not_converting(
            org=org, query=query, value=value, mapping=mapping
        )
    label = "net cash" if value == "net_cash" else "revenue"
    credit = models.credit(population, model=model, value_label=label, labels=CHANNEL_LABELS)
    top = paths.top_paths(converting, limit=10)
    return {
        "model": model,
        "value": value,
        "total": _money(credit.total),
        "journeys": len(converting),
        "channels": {
            channel: {"credited": _money(c.credited), "conversions": str(c.conversions)}
            for channel, c in credit.channels.items()
        },
        "campaigns": [
            [channel, campaign, _money(c.credited), str(c.conversions)]
            for (channel, campaign), c in credit.campaigns.items()
        ],
        "explanations": dict(credit.explanations),
        "paths": [_path_dict(p) for p in top],
    }


def _path_dict(path: paths.PathStat) -> dict:
    return {
        "channels": list(path.channels),
        "conversions": path.conversions,
        "value": _money(path.value),
        "mean_days": str(path.mean_days),
        "mean_touches": str(path.mean_touches),
    }


def _large(*, org, query: Query, value: str) -> bool:
    lo, hi = org_period_bounds(org, query.start, query.end)
    conversions = Journey.objects.filter(
        org=org, kind=_KIND[value], converted_at__gte=lo, converted_at__lt=hi
    )
    return conversions[INLINE_JOURNEYS : INLINE_JOURNEYS + 1].exists()


def _pending_key(key: str) -> str:
    return f"{key}:pending"


def attribution_result(
    *, org: Organization, query: Query, model: str | None = None, value: str | None = None,
    compute: bool = False, version: str | None = None,
) -> dict | None:  # fmt: skip
    """One model's credit for the query's period, lookback and value, cached by input version.

    A data-driven model not yet cached, or any model over more than ``INLINE_JOURNEYS``
    conversions, is enqueued (once) and None returned, unless ``compute`` (the task and the
    command), which computes it here.
    """
    from apps.marketing.tasks import attribution_compute_task
    from apps.orgs.background import enqueue

    model = model or query.model
    value = value or query.value
    version = version if version is not None else input_version(org=org)
    key = query.key(org.pk, version, model, value)
    cached = cache.get(key)
    if cached is not None:
        return cached
    if not compute and (model in DATA_DRIVEN or _large(org=org, query=query, value=value)):
        if cache.add(_pending_key(key), 1, timeout=PENDING_SECONDS):
            enqueue(
                attribution_compute_task,
                org.pk, query.start.isoformat(), query.end.isoformat(), model, value,
                query.lookback_days,
            )  # fmt: skip
        return None
    result = _compute(org=org, query=query, model=model, value=value)
    cache.set(key, result, timeout=CACHE_SECONDS)
    cache.delete(_pending_key(key))
    return result


# --- spend, clicks and leads -----------------------------------------------------------------


@dataclass
class Figures:
    spend: Decimal = ZERO
    impressions: int = 0
    clicks: int = 0
    platform_conversions: Decimal = ZERO
    leads: int = 0


def spend_by_campaign(*, org: Organization, start: date, end: date, mapping) -> dict:
    """{(channel, campaign): Figures} of the period. CampaignDay rows first; an AdSpend row
    counts only for a (day, channel, campaign) that has no CampaignDay: the same spend entered
    both ways is counted once (a month's AdSpend spread over its days, as the KPIs spread it)."""
    out: dict[tuple[str, str], Figures] = defaultdict(Figures)
    covered: set[tuple[date, str, str]] = set()
    days = CampaignDay.objects.filter(org=org, date__gte=start, date__lte=end)
    for day, channel, campaign in days.values_list(
        "date", "campaign__channel", "campaign__name"
    ).distinct():
        covered.add((day, channel, campaign))
    for row in (
        days.values("campaign__channel", "campaign__name")
        .annotate(
            spend=Sum("spend"),
            impressions=Sum("impressions"),
            clicks=Sum("clicks"),
            conversions=Sum("platform_conversions"),
        )
        .order_by()
    ):
        figures = out[(row["campaign__channel"], row["campaign__name"])]
        figures.spend += row["spend"] or ZERO
        figures.impressions += row["impressions"] or 0
        figures.clicks += row["clicks"] or 0
        figures.platform_conversions += row["conversions"] or ZERO
    spend = AdSpend.objects.filter(org=org, currency=org.currency).filter(
        Q(granularity=AdSpend.Granularity.DAY, date__gte=start, date__lte=end)
        | Q(
            granularity=AdSpend.Granularity.MONTH,
            date__gte=start.replace(day=1),
            date__lte=end,
        )
    )
    for granularity, day, source, campaign, amount in spend.values_list(
        "granularity", "date", "source", "campaign", "amount"
    ):
        channel = channel_for(source, mapping=mapping)
        per_day = (
            spread_ad_spend(amount, day)
            if granularity == AdSpend.Granularity.MONTH
            else {day: amount}
        )
        for when, share in per_day.items():
            if start <= when <= end and (when, channel, campaign) not in covered:
                out[(channel, campaign)].spend += share
    return out


def leads_by_campaign(*, org: Organization, start: date, end: date, mapping) -> dict:
    """{(channel, campaign): contacts whose first touch falls in the period}."""
    lo, hi = org_period_bounds(org, start, end)
    out: dict[tuple[str, str], int] = defaultdict(int)
    for row in (
        Journey.objects.filter(
            org=org, kind=JourneyKind.CONTACT, first_touch_at__gte=lo, first_touch_at__lt=hi
        )
        .values("first_source", "first_campaign", "first_kind")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        channel = channel_for(row["first_source"], kind=row["first_kind"], mapping=mapping)
        out[(channel, row["first_campaign"])] += row["n"]
    return out


def _base(*, org, query: Query, mapping, version: str) -> dict:
    key = f"marketing:base:{org.pk}:v{version}:{query.start}:{query.end}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    spend = spend_by_campaign(org=org, start=query.start, end=query.end, mapping=mapping)
    leads = leads_by_campaign(org=org, start=query.start, end=query.end, mapping=mapping)
    for key_, count in leads.items():
        spend[key_].leads = count
    campaigns = dict(spend.items())
    cache.set(key, campaigns, timeout=CACHE_SECONDS)
    return campaigns


# --- the report ------------------------------------------------------------------------------


@dataclass
class Row:
    channel: str
    campaign: str | None
    credited: Decimal | None = None
    credited_net_cash: Decimal | None = None
    credited_revenue: Decimal | None = None
    conversions: Decimal | None = None
    spend: Decimal = ZERO
    impressions: int = 0
    clicks: int = 0
    platform_conversions: Decimal = ZERO
    leads: int = 0

    @property
    def roas(self):
        return safe_ratio(self.credited_revenue or ZERO, self.spend)

    @property
    def cash_roas(self):
        return safe_ratio(self.credited_net_cash or ZERO, self.spend)

    @property
    def credited_roas(self):
        """The chosen value over spend: ROAS for revenue, cash ROAS for net cash."""
        return safe_ratio(self.credited or ZERO, self.spend)

    @property
    def cac(self):
        return safe_ratio(self.spend, self.conversions or ZERO)

    @property
    def cpl(self):
        return safe_ratio(self.spend, Decimal(self.leads))

    @property
    def ctr(self):
        return safe_ratio(Decimal(self.clicks), Decimal(self.impressions))

    @property
    def cpc(self):
        return safe_ratio(self.spend, Decimal(self.clicks))


@dataclass
class Report:
    query: Query
    pending: list[str] = field(default_factory=list)  # models still computing
    total: Decimal | None = None
    journeys: int = 0
    channels: list[Row] = field(default_factory=list)
    campaigns: list[Row] = field(default_factory=list)
    compare: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # model -> channel -> €
    compare_totals: dict[str, Decimal] = field(default_factory=dict)
    explanations: dict[str, str] = field(default_factory=dict)
    paths: list[dict] = field(default_factory=list)
    recommendations: list = field(default_factory=list)


def _credited(result: dict | None) -> tuple[dict, dict]:
    if result is None:
        return {}, {}
    channels = {
        ch: (Decimal(v["credited"]), Decimal(v["conversions"]))
        for ch, v in result["channels"].items()
    }
    campaigns = {
        (ch, camp): (Decimal(credited), Decimal(conv))
        for ch, camp, credited, conv in result["campaigns"]
    }
    return channels, campaigns


def attribution_report(
    *, org: Organization, query: Query, compute: bool = False, compare: bool = False
) -> Report:
    """Everything the page shows for the query. ``compute``: data-driven results are computed
    here rather than by the task (the command). ``compare``: every model's credit per channel."""
    mapping = channel_table(org=org)
    version = input_version(org=org)
    report = Report(query=query)
    chosen = attribution_result(org=org, query=query, compute=compute, version=version)
    other_value = "revenue" if query.value == "net_cash" else "net_cash"
    other = attribution_result(
        org=org, query=query, value=other_value, compute=compute, version=version
    )
    if chosen is None or other is None:
        report.pending.append(query.model)
    base = _base(org=org, query=query, mapping=mapping, version=version)
    chosen_ch, chosen_camp = _credited(chosen)
    other_ch, other_camp = _credited(other)
    by_value = {query.value: (chosen_ch, chosen_camp), other_value: (other_ch, other_camp)}
    if chosen is not None:
        report.total = Decimal(chosen["total"])
        report.journeys = chosen["journeys"]
        report.explanations = chosen["explanations"]
        report.paths = chosen["paths"]

    channel_base: dict[str, Figures] = defaultdict(Figures)
    for (channel, _), figures in base.items():
        total = channel_base[channel]
        total.spend += figures.spend
        total.impressions += figures.impressions
        total.clicks += figures.clicks
        total.platform_conversions += figures.platform_conversions
        total.leads += figures.leads

    def row(channel, campaign, figures: Figures | None, credited_of) -> Row:
        figures = figures or Figures()
        out = Row(
            channel=channel,
            campaign=campaign,
            spend=figures.spend,
            impressions=figures.impressions,
            clicks=figures.clicks,
            platform_conversions=figures.platform_conversions,
            leads=figures.leads,
        )
        if chosen is not None:
            out.credited, out.conversions = credited_of(query.value) or (ZERO, ZERO)
        if chosen is not None and other is not None:
            out.credited_net_cash = (credited_of("net_cash") or (ZERO, ZERO))[0]
            out.credited_revenue = (credited_of("revenue") or (ZERO, ZERO))[0]
        return out

    channels = set(chosen_ch) | set(other_ch) | set(channel_base)
    report.channels = sorted(
        (
            row(ch, None, channel_base.get(ch), lambda v, ch=ch: by_value[v][0].get(ch))
            for ch in channels
        ),
        key=lambda r: (-(r.credited or ZERO), -r.spend, r.channel),
    )
    campaigns = set(chosen_camp) | set(other_camp) | set(base)
    report.campaigns = sorted(
        (
            row(ch, camp, base.get((ch, camp)), lambda v, k=(ch, camp): by_value[v][1].get(k))
            for ch, camp in campaigns
        ),
        key=lambda r: (-(r.credited or ZERO), -r.spend, r.channel, r.campaign),
    )
    if compare:
        for name in MODEL_NAMES:
            result = attribution_result(
                org=org, query=query, model=name, compute=compute, version=version
            )
            if result is None:
                report.pending.append(name)
                continue
            report.compare[name] = {
                ch: Decimal(v["credited"]) for ch, v in result["channels"].items()
            }
            report.compare_totals[name] = Decimal(result["total"])
    if chosen is not None:
        report.recommendations = _recommendations(report, org=org, query=query)
    return report


def _recommendations(report: Report, *, org, query: Query) -> list:
    first_spend = _first_spend_days(org=org, end=query.end)
    figures = [
        budget.CampaignFigures(
            channel=r.channel,
            campaign=r.campaign or "",
            spend=r.spend,
            revenue=r.credited_revenue if r.credited_revenue is not None else ZERO,
            cash=r.credited_net_cash if r.credited_net_cash is not None else ZERO,
            customers=r.conversions or ZERO,
            leads=r.leads,
            impressions=r.impressions,
            clicks=r.clicks,
            days_since_first_spend=first_spend.get((r.channel, r.campaign), 0),
        )
        for r in report.campaigns
    ]
    return budget.recommend(figures, currency=org.currency)


def _first_spend_days(*, org, end: date) -> dict[tuple[str, str], int]:
    """Days from each campaign's first day with spend to the period's end (the review rule)."""
    rows = (
        CampaignDay.objects.filter(org=org, spend__gt=0, date__lte=end)
        .values("campaign__channel", "campaign__name")
        .annotate(first=Min("date"))
        .order_by()
    )
    return {
        (r["campaign__channel"], r["campaign__name"]): (end - r["first"]).days + 1 for r in rows
    }


# --- drill-down ------------------------------------------------------------------------------


def journeys_behind(
    *, org: Organization, query: Query, channel: str | None, campaign: str | None, limit: int = 200
) -> tuple[list[dict], int]:
    """The converting journeys of the period (chosen value, lookback) with a touch of this
    channel (and campaign): what a figure of the page is made of. (rows, how many in all)."""
    channels = _Channels(channel_table(org=org))
    lo, hi = org_period_bounds(org, query.start, query.end)
    rows = (
        Journey.objects.filter(
            org=org, kind=_KIND[query.value], converted_at__gte=lo, converted_at__lt=hi
        )
        .select_related("contact")
        .order_by("-converted_at", "pk")
    )
    out = []
    count = 0
    for row in rows.iterator(chunk_size=2000):
        journey = journeys.in_window(
            journeys.Journey(
                key=str(row.pk),
                touches=tuple(_touch(t, channels) for t in row.touches),
                converted_at=row.converted_at,
                value=row.value,
            ),
            lookback_days=query.lookback_days,
        )
        touches = journey.touches
        path = [t.channel for t in touches] or ["direct"]
        if channel is not None and channel not in path:
            continue
        if campaign is not None and not any(
            t.campaign == campaign and (channel is None or t.channel == channel) for t in touches
        ):
            continue
        count += 1
        if len(out) < limit:
            out.append(
                {
                    "contact": row.contact,
                    "converted_at": row.converted_at,
                    "value": row.value,
                    "path": path,
                    "touches": touches,
                }
            )
    return out, count
