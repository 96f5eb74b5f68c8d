"""KPI reads: the base counts of KPIS.md, from the daily rollups or from the raw rows.

Both paths answer in a fixed number of queries whatever the data size: one aggregate per source
table on the raw path, one rollup aggregate (plus today's calls from the raw rows) on the rollup
path. Formulas live in ``attribution.kpis``; this module only counts.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Case,
    Count,
    DateField,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Trunc, TruncDate
from django.utils import timezone

from apps.contacts.lead_source import close_lead_source_field
from apps.contacts.models import Contact
from apps.deals.models import Deal
from apps.kpis.models import AdSpend, DailyRollup
from apps.kpis.traffic import traffic_case, traffic_rules, traffic_type_of
from apps.meetings.models import CallType, Meeting
from apps.orgs.calendar import month_bounds, org_period_bounds
from apps.orgs.models import Organization, TeamMember
from apps.payments.models import Payment, Refund
from attribution.kpis import (
    BASE_COUNTS,
    KPIS_BY_NAME,
    apply_rep_filter,
    compute_kpis,
)

__all__ = [
    "GROUPINGS",
    "Filters",
    "base_counts",
    "dashboard_data",
    "deals_matching",
    "filter_choices",
    "kpi_summary",
    "month_bounds",
    "rollup_rows_raw",
    "spread_ad_spend",
    "summary_json",
]

GROUPINGS = (
    "day", "week", "month", "closer", "setter", "source", "campaign", "lead_source",
    "traffic_type",
)  # fmt: skip
# Groupings and filters the rollups do not hold: read from the raw rows.
RAW_ONLY = frozenset({"lead_source", "traffic_type"})
MONEY = frozenset({"revenue", "cash_collected", "refunds", "ad_spend"})
# Meeting counts that depend on the call's time having passed; stored "as if due" in the rollups.
DUE_COUNTS = (
    "triage_due",
    "triage_attended",
    "triage_no_show",
    "triage_canceled",
    "solution_due",
    "solution_attended",
    "solution_no_show",
    "solution_canceled",
    "offers_made",
    "pcf_pending",
)
# Columns of DailyRollup (the *_due counts are not stored: before today, due == booked).
ROLLUP_COUNTS = tuple(name for name in BASE_COUNTS if not name.endswith("_due"))
ZERO = Decimal("0.00")
CENT = Decimal("0.01")

Key = tuple


@dataclass(frozen=True)
class Filters:
    closer: TeamMember | None = None
    setter: TeamMember | None = None
    source: str | None = None
    campaign: str | None = None
    lead_source: str | None = None  # Contact.crm_lead_source
    traffic_type: str | None = None  # a TrafficType name (apps.kpis.traffic)

    @property
    def by_rep(self) -> bool:
        return self.closer is not None or self.setter is not None

    @property
    def raw_only(self) -> bool:
        return self.lead_source is not None or self.traffic_type is not None

    def as_json(self) -> dict:
        return {
            "closer": self.closer.email if self.closer else None,
            "setter": self.setter.email if self.setter else None,
            "source": self.source,
            "campaign": self.campaign,
            "lead_source": self.lead_source,
            "traffic_type": self.traffic_type,
        }


def _empty_base() -> dict:
    return {name: (ZERO if name in MONEY else 0) for name in BASE_COUNTS}


def _bucket(day: date, dim: str) -> date:
    if dim == "week":
        return day - timedelta(days=day.weekday())
    if dim == "month":
        return day.replace(day=1)
    return day


# --- raw rows --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    date_field: str
    closer: str | None
    setter: str | None
    contact: str | None  # path to the contact whose original source/campaign the row takes


_CONTACTS = _Table("first_seen_at", None, None, "")
_MEETINGS = _Table("scheduled_at", "closer_id", "setter_id", "contact__")
_DEALS = _Table("closed_at", "closer_id", "setter_id", "contact__")
_PAYMENTS = _Table("paid_at", "closer_id", "setter_id", "contact__")
_REFUNDS = _Table("refunded_at", "payment__closer_id", "payment__setter_id", "payment__contact__")


def _filtered(qs, table: _Table, filters: Filters, *, dims=(), traffic=None):
    """The rows the dashboard's filters select: by rep, and by the contact's original source,
    campaign, CRM lead source and traffic type ("" for a row without a contact).

    ``traffic``: the org's traffic rules, needed for a traffic-type filter or grouping."""
    qs = qs.annotate(
        _source=Coalesce(F(f"{table.contact}original_source"), Value("")),
        _campaign=Coalesce(F(f"{table.contact}original_campaign"), Value("")),
        _lead_source=Coalesce(F(f"{table.contact}crm_lead_source"), Value("")),
    )
    if filters.traffic_type is not None or "traffic_type" in dims:
        qs = qs.annotate(
            _traffic_type=traffic_case(traffic or [], source="_source", lead_source="_lead_source")
        )
    if filters.closer is not None:
        qs = qs.filter(**{table.closer: filters.closer.pk})
    if filters.setter is not None:
        qs = qs.filter(**{table.setter: filters.setter.pk})
    if filters.source is not None:
        qs = qs.filter(_source=filters.source)
    if filters.campaign is not None:
        qs = qs.filter(_campaign=filters.campaign)
    if filters.lead_source is not None:
        qs = qs.filter(_lead_source=filters.lead_source)
    if filters.traffic_type is not None:
        qs = qs.filter(_traffic_type=filters.traffic_type)
    return qs


def deals_matching(qs, filters: Filters, *, org: Organization):
    """Deals (of any date, open ones included) as the dashboard's filters select them."""
    traffic = traffic_rules(org=org) if filters.traffic_type is not None else None
    return _filtered(qs, _DEALS, filters, traffic=traffic)


def _prepare(qs, table: _Table, *, org, ranges, dims, filters: Filters, traffic=None):
    """Filters a raw queryset to the period and filters, and returns it with the group columns.

    ``traffic``: the org's traffic rules, needed for a traffic-type filter or grouping."""
    tz = org.tzinfo
    if ranges is not None:
        when = Q(pk__in=[])
        for start, end in ranges:
            lo, hi = org_period_bounds(org, start, end)
            when |= Q(**{f"{table.date_field}__gte": lo, f"{table.date_field}__lt": hi})
        qs = qs.filter(when)
    else:
        qs = qs.filter(**{f"{table.date_field}__isnull": False})
    qs = _filtered(qs, table, filters, dims=dims, traffic=traffic)
    columns = {}
    for dim in dims:
        if dim == "day":
            columns["g_day"] = TruncDate(table.date_field, tzinfo=tz)
        elif dim in ("week", "month"):
            columns[f"g_{dim}"] = Trunc(table.date_field, dim, output_field=DateField(), tzinfo=tz)
        elif dim in ("closer", "setter"):
            columns[f"g_{dim}"] = F(getattr(table, dim))
        else:
            columns[f"g_{dim}"] = F(f"_{dim}")
    return qs.values(**columns) if columns else qs


def _key(row: Mapping, dims) -> Key:
    return tuple(row[f"g_{dim}"] for dim in dims)


def _meeting_aggregates(now: datetime | None) -> dict:
    booked_types = {"triage": CallType.TRIAGE, "solution": CallType.SOLUTION}
    due = Q(scheduled_at__lt=now) if now is not None else Q()
    canceled = Q(status=Meeting.Status.CANCELED) | Q(canceled_at__isnull=False)
    out = {}
    for prefix, call_type in booked_types.items():
        is_type = Q(call_type=call_type)
        out[f"{prefix}_booked"] = Count("pk", filter=is_type)
        out[f"{prefix}_due"] = Count("pk", filter=is_type & due)
        out[f"{prefix}_attended"] = Count("pk", filter=is_type & due & Q(showed=True))
        out[f"{prefix}_no_show"] = Count("pk", filter=is_type & due & Q(showed=False) & ~canceled)
        out[f"{prefix}_canceled"] = Count("pk", filter=is_type & due & canceled)
    solution = Q(call_type=CallType.SOLUTION)
    out["solution_direct_booked"] = Count("pk", filter=solution & Q(_after_triage=False))
    out["offers_made"] = Count(
        "pk", filter=solution & due & Q(showed=True) & Q(pcf__offer_made=True)
    )
    out["pcf_pending"] = Count("pk", filter=due & ~canceled & Q(pcf__isnull=True))
    return out


def _raw_meetings(*, org, ranges, dims, filters, now, only=None, traffic=None):
    earlier_triage = Meeting.objects.filter(
        org=org,
        contact_id=OuterRef("contact_id"),
        call_type=CallType.TRIAGE,
        scheduled_at__lt=OuterRef("scheduled_at"),
    )
    # KPIS.md: the old side of a reschedule is not a booking (the new one is); "other" calls are
    # in no count.
    qs = Meeting.objects.filter(
        org=org,
        call_type__in=[CallType.TRIAGE, CallType.SOLUTION],
        rescheduled_to__isnull=True,
    ).exclude(status=Meeting.Status.RESCHEDULED)
    aggregates = _meeting_aggregates(now)
    if only is not None:
        aggregates = {name: agg for name, agg in aggregates.items() if name in only}
    if "solution_direct_booked" in aggregates:  # the one count that needs the subquery
        qs = qs.annotate(_after_triage=Exists(earlier_triage))
    qs = _prepare(
        qs, _MEETINGS, org=org, ranges=ranges, dims=dims, filters=filters, traffic=traffic
    )
    if not dims:
        return [({}, qs.aggregate(**aggregates))]
    return [(row, row) for row in qs.annotate(**aggregates)]


def _raw_rows(*, org, ranges, dims, filters: Filters, now, meetings_only=False, only=None):
    """{key: base counts} straight from the raw tables, in one query per table."""
    results: dict[Key, dict] = defaultdict(_empty_base)

    def add(key, values: Mapping):
        target = results[key]
        for name, value in values.items():
            if name in BASE_COUNTS and value is not None:
                target[name] += value

    traffic = None
    if filters.traffic_type is not None or "traffic_type" in dims:
        traffic = traffic_rules(org=org)
    meetings = _raw_meetings(
        org=org, ranges=ranges, dims=dims, filters=filters, now=now, only=only, traffic=traffic
    )
    for row, values in meetings:
        add(_key(row, dims), values)
    if meetings_only:
        return results
    currency = org.currency
    queries = []
    deals = Deal.objects.filter(org=org, status=Deal.Status.WON, currency=currency)
    queries.append(
        (
            _prepare(
                deals, _DEALS, org=org, ranges=ranges, dims=dims, filters=filters, traffic=traffic
            ),
            {"deals_won": Count("pk"), "revenue": Sum("value")},
        )
    )
    refunded = (
        Refund.objects.filter(payment=OuterRef("pk"))
        .values("payment")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(max_digits=18, decimal_places=2)
    payments = Payment.objects.filter(
        org=org, status=Payment.Status.SUCCEEDED, currency=currency
    ).annotate(_refunded=Coalesce(Subquery(refunded, output_field=money), Value(ZERO)))
    queries.append(
        (
            _prepare(
                payments,
                _PAYMENTS,
                org=org,
                ranges=ranges,
                dims=dims,
                filters=filters,
                traffic=traffic,
            ),
            # KPIS.md: cash is the payments of the period net of their refunds, whenever those
            # were made; the refunds themselves are also counted on their own date.
            {"cash_collected": Sum(F("amount") - F("_refunded"), output_field=money)},
        )
    )
    refunds = Refund.objects.filter(org=org, currency=currency)
    queries.append(
        (
            _prepare(
                refunds,
                _REFUNDS,
                org=org,
                ranges=ranges,
                dims=dims,
                filters=filters,
                traffic=traffic,
            ),
            {"refunds": Sum("amount")},
        )
    )
    rep_dims = bool({"closer", "setter"} & set(dims))
    if not filters.by_rep and not rep_dims:
        contacts = Contact.objects.filter(org=org, merged_into__isnull=True)
        queries.append(
            (
                _prepare(
                    contacts,
                    _CONTACTS,
                    org=org,
                    ranges=ranges,
                    dims=dims,
                    filters=filters,
                    traffic=traffic,
                ),
                {"leads": Count("pk")},
            )
        )
    for qs, aggregates in queries:
        if dims:
            for row in qs.annotate(**aggregates):
                add(_key(row, dims), row)
        else:
            add((), qs.aggregate(**aggregates))
    # Spend is entered per UTM source: under a lead-source filter or grouping it has no value.
    by_lead_source = filters.lead_source is not None or "lead_source" in dims
    if not filters.by_rep and not rep_dims:
        spend = (
            {}
            if by_lead_source
            else _ad_spend(org=org, ranges=ranges, dims=dims, filters=filters, traffic=traffic)
        )
        for key, amount in spend.items():
            results[key]["ad_spend"] += amount
        if by_lead_source:
            for base in results.values():
                base["ad_spend"] = None
    return results


def spread_ad_spend(amount: Decimal, first: date) -> dict[date, Decimal]:
    """A month's amount over its days, to the cent, the days summing exactly to the amount.

    The leftover cents go to the first days, so a whole month always shows the amount entered.
    """
    days = calendar.monthrange(first.year, first.month)[1]
    cents = int((amount / CENT).to_integral_value(rounding=ROUND_HALF_UP))
    base, extra = divmod(cents, days)
    return {
        first + timedelta(days=i): Decimal(base + (1 if i < extra else 0)) * CENT
        for i in range(days)
    }


def _ad_spend(*, org, ranges, dims, filters: Filters, traffic=None) -> dict[Key, Decimal]:
    qs = AdSpend.objects.filter(org=org, currency=org.currency)
    if filters.source is not None:
        qs = qs.filter(source=filters.source)
    if filters.traffic_type is not None:
        listed = {
            s for rule in traffic or [] if rule.name == filters.traffic_type for s in rule.sources
        }
        qs = qs.filter(source__in=listed)
    if filters.campaign is not None:
        qs = qs.filter(campaign=filters.campaign)
    if ranges is not None:
        when = Q(pk__in=[])
        for start, end in ranges:
            when |= Q(granularity=AdSpend.Granularity.DAY, date__gte=start, date__lte=end)
            when |= Q(
                granularity=AdSpend.Granularity.MONTH,
                date__gte=start.replace(day=1),
                date__lte=month_bounds(end)[1],
            )
        qs = qs.filter(when)

    def inside(day: date) -> bool:
        return ranges is None or any(start <= day <= end for start, end in ranges)

    out: dict[Key, Decimal] = defaultdict(lambda: ZERO)
    for row in qs.values_list("granularity", "date", "source", "campaign", "amount"):
        granularity, day, source, campaign, amount = row
        if granularity == AdSpend.Granularity.MONTH:
            per_day = spread_ad_spend(amount, day.replace(day=1))
        else:
            per_day = {day: amount}
        for when, value in per_day.items():
            if not inside(when):
                continue
            key = []
            for dim in dims:
                if dim in ("day", "week", "month"):
                    key.append(_bucket(when, dim))
                elif dim == "source":
                    key.append(source)
                elif dim == "campaign":
                    key.append(campaign)
                elif dim == "traffic_type":
                    key.append(traffic_type_of(traffic or [], source=source, lead_source=""))
                else:
                    key.append(None)
            out[tuple(key)] += value
    return out


ROLLUP_DIMS = {
    "total": ("day", "source", "campaign"),
    "closer": ("day", "closer", "source", "campaign"),
    "setter": ("day", "setter", "source", "campaign"),
    "pair": ("day", "closer", "setter"),
}


def rollup_rows_raw(*, org, ranges, kind: str) -> dict[Key, dict]:
    """Rollup rows ("as if due") for ``kind`` from the raw rows: what the rollup should hold.

    Keys are (day, closer id, setter id, source, campaign), None/"" where the kind has no such
    dimension.
    """
    dims = ROLLUP_DIMS[kind]
    rows = _raw_rows(org=org, ranges=ranges, dims=dims, filters=Filters(), now=None)
    out = {}
    for key, base in rows.items():
        named = dict(zip(dims, key, strict=True))
        out[
            (
                named["day"],
                named.get("closer"),
                named.get("setter"),
                named.get("source", ""),
                named.get("campaign", ""),
            )
        ] = {name: base[name] for name in ROLLUP_COUNTS}
    return out


# --- rollups ---------------------------------------------------------------------------------


def _rollup_kind(dims, filters: Filters) -> str | None:
    if filters.raw_only or RAW_ONLY & set(dims):
        return None
    closer = filters.closer is not None or "closer" in dims
    setter = filters.setter is not None or "setter" in dims
    if closer and setter:
        by_marketing = (
            filters.source is not None
            or filters.campaign is not None
            or {"source", "campaign"} & set(dims)
        )
        # The pair cube has no source/campaign split: with one, read the raw rows.
        return None if by_marketing else "pair"
    return "closer" if closer else "setter" if setter else "total"


def _rollup_base(
    *, org, start, end, dims, filters: Filters, today: date, now: datetime, cache=None
):
    kind = _rollup_kind(dims, filters)
    assert kind is not None
    # Whole months before today come from month rows; the rest (and any day/week grouping) from
    # day rows. Month rows of the current month exist but hold calls not yet due.
    month_dates: list[date] = []
    day_ranges: list[tuple[date, date]] = []
    if "day" in dims or "week" in dims:
        day_ranges.append((start, end))
    else:
        cursor = start
        while cursor <= end:
            first, last = month_bounds(cursor)
            stop = min(last, end)
            if cursor == first and stop == last and last < today:
                month_dates.append(first)
            elif day_ranges and day_ranges[-1][1] + timedelta(days=1) == cursor:
                day_ranges[-1] = (day_ranges[-1][0], stop)
            else:
                day_ranges.append((cursor, stop))
            cursor = stop + timedelta(days=1)
    when = Q(pk__in=[])
    if month_dates:
        when |= Q(grain=DailyRollup.Grain.MONTH, date__in=month_dates)
    for lo, hi in day_ranges:
        when |= Q(grain=DailyRollup.Grain.DAY, date__gte=lo, date__lte=hi)
    qs = DailyRollup.objects.filter(when, org=org, kind=kind)
    if filters.closer is not None:
        qs = qs.filter(closer=filters.closer)
    if filters.setter is not None:
        qs = qs.filter(setter=filters.setter)
    if filters.source is not None:
        qs = qs.filter(source=filters.source)
    if filters.campaign is not None:
        qs = qs.filter(campaign=filters.campaign)
    columns = {}
    for dim in dims:
        if dim in ("day", "week", "month"):
            columns[f"g_{dim}"] = (
                F("date") if dim == "day" else Trunc("date", dim, output_field=DateField())
            )
        elif dim in ("closer", "setter"):
            columns[f"g_{dim}"] = F(f"{dim}_id")
        else:
            columns[f"g_{dim}"] = F(dim)
    # Aliased "s_..." so an aggregate never shadows the column of the same name it reads.
    aggregates = {}
    before_today = Q(date__lt=today)
    for name in ROLLUP_COUNTS:
        if name in DUE_COUNTS:
            # Outcome columns count only once the day is over; today's come from the raw rows.
            aggregates[f"s_{name}"] = Sum(Case(When(before_today, then=F(name)), default=Value(0)))
        else:
            aggregates[f"s_{name}"] = Sum(name)
    for prefix in ("triage", "solution"):
        aggregates[f"s_{prefix}_due"] = Sum(
            Case(When(before_today, then=F(f"{prefix}_booked")), default=Value(0)),
            output_field=IntegerField(),
        )
    results: dict[Key, dict] = defaultdict(_empty_base)
    rows = qs.values(**columns).annotate(**aggregates) if columns else [qs.aggregate(**aggregates)]
    for row in rows:
        target = results[_key(row, dims)]
        for name in BASE_COUNTS:
            target[name] += row[f"s_{name}"] or 0
    if start <= today <= end:
        for (closer, setter, source, campaign), values in _today_due(
            org=org, today=today, filters=filters, now=now, cache=cache
        ).items():
            named = {"closer": closer, "setter": setter, "source": source, "campaign": campaign}
            key = tuple(
                _bucket(today, dim) if dim in ("day", "week", "month") else named[dim]
                for dim in dims
            )
            target = results[key]
            for name in DUE_COUNTS:
                target[name] += values[name]
    return results


_TODAY_DIMS = ("closer", "setter", "source", "campaign")


def _today_due(*, org, today, filters, now, cache: dict | None) -> dict[Key, dict]:
    """Today's due-dependent counts from the raw rows, at the finest grain the reads need.

    One query serves every read of a page (``cache``): a day's calls are few, so they are
    re-grouped in Python rather than asked for once per grouping.
    """
    cache_key = ("today_due", today, now, filters)
    if cache is not None and cache_key in cache:
        return cache[cache_key]
    rows = _raw_rows(
        org=org,
        ranges=[(today, today)],
        dims=_TODAY_DIMS,
        filters=filters,
        now=now,
        meetings_only=True,
        only=frozenset(DUE_COUNTS),
    )
    if cache is not None:
        cache[cache_key] = rows
    return rows


# --- public API ------------------------------------------------------------------------------


def base_counts(
    *,
    org: Organization,
    start: date,
    end: date,
    filters: Filters | None = None,
    group_by: Iterable[str] = (),
    raw: bool = False,
    now: datetime | None = None,
    cache: dict | None = None,
) -> dict[Key, dict]:
    """Base counts of KPIS.md per group (``{(): {...}}`` ungrouped), end date inclusive.

    Leads and ad spend are None under a closer or setter filter (KPIS.md), and absent from groups
    by closer or setter (they belong to no rep). ``raw`` skips the rollups (benchmark, checks).
    Reads of one page may share a ``cache`` dict (today's calls are then read once).
    """
    filters = filters or Filters()
    dims = tuple(group_by)
    unknown = set(dims) - set(GROUPINGS)
    if unknown:
        raise ValueError(f"unknown grouping: {', '.join(sorted(unknown))}")
    now = now or timezone.now()
    today = timezone.localdate(now, timezone=org.tzinfo)
    if raw or _rollup_kind(dims, filters) is None:
        rows = _raw_rows(org=org, ranges=[(start, end)], dims=dims, filters=filters, now=now)
    else:
        rows = _rollup_base(
            org=org,
            start=start,
            end=end,
            dims=dims,
            filters=filters,
            today=today,
            now=now,
            cache=cache,
        )
    if not dims and () not in rows:
        rows[()] = _empty_base()
    rep_dims = bool({"closer", "setter"} & set(dims))
    out = {}
    for key, base in rows.items():
        if filters.by_rep or rep_dims:
            base = apply_rep_filter(base, closer=True)
        out[key] = base
    return out


def _json_number(name: str, value):
    if value is None:
        return None
    if name in MONEY or (name in KPIS_BY_NAME and KPIS_BY_NAME[name].unit == "money"):
        return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))
    if isinstance(value, int):
        return value
    return float(value)


def summary_json(*, org: Organization, start: date, end: date, filters: Filters, base: dict):
    kpis = compute_kpis(base)
    return {
        "period": {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "timezone": org.timezone,
            "currency": org.currency,
        },
        "filters": filters.as_json(),
        "base": {name: _json_number(name, base.get(name)) for name in BASE_COUNTS},
        "kpis": {name: _json_number(name, value) for name, value in kpis.items()},
    }


def kpi_summary(
    *,
    org: Organization,
    start: date,
    end: date,
    closer: TeamMember | None = None,
    setter: TeamMember | None = None,
    source: str | None = None,
    campaign: str | None = None,
    raw: bool = False,
) -> dict:
    """The summary.json document: period, filters, base counts and every KPI of KPIS.md.

    Rates are fractions (0.75), money decimal strings ("50.00"), undefined ratios None.
    """
    filters = Filters(closer=closer, setter=setter, source=source, campaign=campaign)
    base = base_counts(org=org, start=start, end=end, filters=filters, raw=raw)[()]
    return summary_json(org=org, start=start, end=end, filters=filters, base=base)


# --- dashboard series ------------------------------------------------------------------------


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, 1)


def _buckets(start: date, end: date, grain: str) -> list[date]:
    """Every bucket of the period in order, empty ones included: a quiet day is a zero."""
    seen: dict[date, None] = {}
    for ordinal in range(start.toordinal(), end.toordinal() + 1):
        seen.setdefault(_bucket(date.fromordinal(ordinal), grain), None)
    return list(seen)


def series_grain(start: date, end: date) -> str:
    """Days for a sparkline up to a quarter, weeks up to two years, months beyond."""
    days = (end - start).days + 1
    return "day" if days <= 92 else "week" if days <= 731 else "month"


def dashboard_data(
    *,
    org: Organization,
    start: date,
    end: date,
    filters: Filters,
    now: datetime | None = None,
    previous: tuple[date, date] | None = None,
) -> dict:
    """Every series the dashboard shows, in a fixed number of queries (rollups where they exist).

    The monthly trend covers at least the 12 months up to the period's end, so a one-month
    period still shows where it sits. With ``previous``, that period's base counts too (the
    headline's change) and the period's own series by day, week or month (its sparklines).
    """
    now = now or timezone.now()
    cache: dict = {}

    def read(first, last, group_by=()):
        return base_counts(
            org=org,
            start=first,
            end=last,
            filters=filters,
            group_by=group_by,
            now=now,
            cache=cache,
        )

    base = read(start, end)[()]
    trend_start = min(start.replace(day=1), _months_before(end, 11))
    trend = read(trend_start, end, ("month",))
    by_closer = read(start, end, ("closer",))
    by_setter = read(start, end, ("setter",))
    # The CRM lead source beside the UTM source once the org names its Close field (the rollups
    # hold no lead source: those orgs' sources table reads the raw rows).
    with_lead_source = close_lead_source_field(org=org) is not None
    source_dims = (
        ("source", "lead_source", "campaign") if with_lead_source else ("source", "campaign")
    )
    by_source = read(start, end, source_dims)
    member_ids = {key[0] for key in (*by_closer, *by_setter) if key[0] is not None}
    names = dict(TeamMember.objects.filter(org=org, pk__in=member_ids).values_list("pk", "name"))

    def people(rows):
        out = []
        for (member_id,), values in rows.items():
            if member_id is None:
                continue  # calls and money with no rep credited: in the totals only
            out.append(
                {
                    "id": member_id,
                    "name": names.get(member_id, "?"),
                    "base": values,
                    "kpis": compute_kpis(values),
                }
            )
        return out

    months = []
    cursor = trend_start
    while cursor <= end:
        values = trend.get((cursor,), _empty_base())
        months.append({"month": cursor, "base": values})
        cursor = _months_before(cursor, -1)
    rules = traffic_rules(org=org)
    sources = []
    for key, values in sorted(by_source.items(), key=lambda kv: tuple(str(k) for k in kv[0])):
        named = dict(zip(source_dims, key, strict=True))
        lead_source = named.get("lead_source", "")
        sources.append(
            {
                "source": named["source"],
                "lead_source": lead_source,
                "traffic_type": traffic_type_of(
                    rules, source=named["source"], lead_source=lead_source
                ),
                "campaign": named["campaign"],
                "base": values,
                "kpis": compute_kpis(values),
            }
        )
    compared = {}
    if previous is not None:
        grain = series_grain(start, end)
        series = read(start, end, (grain,))
        previous_base = read(*previous)[()]
        quiet = apply_rep_filter(_empty_base(), closer=True) if filters.by_rep else _empty_base()
        compared = {
            "previous": {"base": previous_base, "kpis": compute_kpis(previous_base)},
            "series": [
                {"date": bucket, "base": values, "kpis": compute_kpis(values)}
                for bucket in _buckets(start, end, grain)
                for values in [series.get((bucket,)) or quiet]
            ],
        }
    return {
        **compared,
        "base": base,
        "kpis": compute_kpis(base),
        "trend": months,
        "closers": people(by_closer),
        "setters": people(by_setter),
        "sources": sources,
    }


def filter_choices(*, org: Organization) -> dict:
    """Closers, setters, sources and campaigns to pick from (sources from the small month rows)."""
    members = list(TeamMember.objects.filter(org=org).filter(Q(is_closer=True) | Q(is_setter=True)))
    pairs = set(
        DailyRollup.objects.filter(org=org, kind=DailyRollup.Kind.TOTAL, grain="month")
        .values_list("source", "campaign")
        .distinct()
    )
    lead_sources = []
    if close_lead_source_field(org=org) is not None:
        lead_sources = list(
            Contact.objects.filter(org=org)
            .exclude(crm_lead_source="")
            .values_list("crm_lead_source", flat=True)
            .distinct()
            .order_by("crm_lead_source")
        )
    return {
        "closers": [m for m in members if m.is_closer],
        "setters": [m for m in members if m.is_setter],
        "sources": sorted({source for source, _ in pairs if source}),
        "campaigns": sorted({campaign for _, campaign in pairs if campaign}),
        "lead_sources": lead_sources,
        "traffic_types": [rule.name for rule in traffic_rules(org=org)],
    }
