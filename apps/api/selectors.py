"""Reads of the API: what a key may see, conversions filtered, conversion analytics."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.utils import timezone

from apps.api.models import (
    Activity,
    ApiKey,
    ContactConversion,
    Conversion,
    ConversionRollup,
    Workspace,
)
from apps.contacts.models import Contact
from apps.orgs.models import MANAGER_ROLES, Membership, Organization, Role

# The longest period analytics answers for (its daily trend has one point per day).
ANALYTICS_MAX_DAYS = 731


def key_membership(key: ApiKey) -> Membership:
    """Whose eyes a key reads with: a personal key its user's membership; a workspace key a
    manager's (the org admin who made it chose to share the org's records with the workspace)."""
    if key.is_personal:
        return key.membership
    return Membership(org=key.org, role=Role.MANAGER)


def key_sees_conversions(key: ApiKey) -> bool:
    """Conversions and their analytics are for workspaces and for managers and above."""
    return not key.is_personal or key.membership.role in MANAGER_ROLES


def conversion_list_for_key(*, key: ApiKey) -> QuerySet[Conversion]:
    """A workspace's key sees what its workspace logged; a manager's personal key the org's."""
    qs = Conversion.objects.for_org(key.org).select_related("workspace")
    if key.workspace_id is not None:
        qs = qs.filter(workspace_id=key.workspace_id)
    return qs


def activity_list(*, org: Organization, workspace_id: int) -> QuerySet[Activity]:
    return Activity.objects.for_org(org).filter(workspace_id=workspace_id)


@dataclass(frozen=True)
class AnalyticsFilters:
    start: date
    end: date
    workspace_id: int | None = None
    conversion_type: str = ""


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def local_bounds(org: Organization, start: date, end: date) -> tuple[datetime, datetime]:
    tz = org.tzinfo
    lo = timezone.make_aware(datetime.combine(start, time.min), tz)
    hi = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz)
    return lo, hi


def _money(values: dict[str, Decimal]) -> dict[str, str]:
    return {currency: f"{value:.2f}" for currency, value in sorted(values.items())}


class _Tally:
    __slots__ = ("count", "value")

    def __init__(self):
        self.count = 0
        self.value: dict[str, Decimal] = defaultdict(Decimal)

    def add(self, count: int, currency: str, value: Decimal) -> None:
        self.count += count
        self.value[currency] += value

    def json(self) -> dict:
        return {"conversions": self.count, "value": _money(self.value)}


def conversion_analytics(*, org: Organization, filters: AnalyticsFilters) -> dict:
    """Summary, by workspace, by type and daily/weekly/monthly trends of a period (org-local
    days), read from the rollups the conversion writes keep.

    conversion_rate = converted contacts / leads, where leads are the contacts first seen in
    the period (KPIS.md's date of a lead) and converted contacts those whose first conversion
    falls in the period. Like every rate of KPIS.md it compares two counts of one period, so a
    month where old leads convert can pass 1; null when the period has no lead.
    """
    rows = ConversionRollup.objects.for_org(org).filter(
        day__gte=filters.start, day__lte=filters.end
    )
    if filters.workspace_id is not None:
        rows = rows.filter(workspace_id=filters.workspace_id)
    if filters.conversion_type:
        rows = rows.filter(conversion_type=filters.conversion_type)
    # Three grouped sums in the database: Python only sees a row per day, workspace or type
    # (and currency), not per rollup row.
    total = _Tally()
    workspaces: dict[int, _Tally] = defaultdict(_Tally)
    types: dict[str, _Tally] = defaultdict(_Tally)
    daily: dict[date, _Tally] = defaultdict(_Tally)
    for group, tallies in (
        ("day", daily),
        ("workspace_id", workspaces),
        ("conversion_type", types),
    ):
        sums = rows.values(group, "currency").annotate(n=Sum("count"), v=Sum("value"))
        for row in sums.order_by():
            tallies[row[group]].add(row["n"], row["currency"], row["v"])
            if group == "day":
                total.add(row["n"], row["currency"], row["v"])
    weekly: dict[date, _Tally] = defaultdict(_Tally)
    monthly: dict[date, _Tally] = defaultdict(_Tally)
    days = []
    for ordinal in range(filters.start.toordinal(), filters.end.toordinal() + 1):
        day = date.fromordinal(ordinal)
        tally = daily[day]
        days.append({"period": day.isoformat(), **tally.json()})
        for bucket, key in ((weekly, _week(day)), (monthly, day.replace(day=1))):
            for currency, value in tally.value.items():
                bucket[key].add(0, currency, value)
            bucket[key].count += tally.count
    lo, hi = local_bounds(org, filters.start, filters.end)
    leads = Contact.objects.for_org(org).filter(
        first_seen_at__gte=lo, first_seen_at__lt=hi, merged_into__isnull=True
    )
    converted = ContactConversion.objects.for_org(org).filter(
        first_converted_at__gte=lo, first_converted_at__lt=hi
    )
    if filters.workspace_id is not None:
        converted = converted.filter(converted_from_id=filters.workspace_id)
    lead_count, converted_count = leads.count(), converted.count()
    names = dict(
        Workspace.objects.for_org(org).filter(pk__in=list(workspaces)).values_list("pk", "slug")
    )
    return {
        "period": {
            "start": filters.start.isoformat(),
            "end": filters.end.isoformat(),
            "timezone": org.timezone,
            "currency": org.currency,
        },
        "summary": {
            **total.json(),
            "leads": lead_count,
            "converted_contacts": converted_count,
            "conversion_rate": round(converted_count / lead_count, 4) if lead_count else None,
        },
        "by_workspace": sorted(
            ({"workspace_id": names.get(pk, ""), **t.json()} for pk, t in workspaces.items()),
            key=lambda r: (-r["conversions"], r["workspace_id"]),
        ),
        "by_type": sorted(
            ({"conversion_type": kind, **t.json()} for kind, t in types.items()),
            key=lambda r: (-r["conversions"], r["conversion_type"]),
        ),
        "trends": {
            "daily": days,
            "weekly": [{"period": k.isoformat(), **t.json()} for k, t in weekly.items()],
            "monthly": [{"period": k.isoformat(), **t.json()} for k, t in monthly.items()],
        },
    }


CONVERSION_FUNNEL = (
    ("leads", "Leads"),
    ("triage_booked", "Triage booked"),
    ("solution_attended", "Solution attended"),
    ("converted_contacts", "Converted (workspaces)"),
)


def conversion_funnel(*, org: Organization, start: date, end: date) -> dict:
    """The dashboard's base counts of the period, and the contacts first converted in it."""
    from apps.kpis.selectors import Filters, base_counts

    base = dict(base_counts(org=org, start=start, end=end, filters=Filters())[()])
    lo, hi = local_bounds(org, start, end)
    base["converted_contacts"] = (
        ContactConversion.objects.for_org(org)
        .filter(first_converted_at__gte=lo, first_converted_at__lt=hi)
        .count()
    )
    return base


def workspace_grid(*, org: Organization, rows: list[dict]) -> list[dict]:
    """Every workspace of the org with its figures of the period (none: zero)."""
    by_slug = {row["workspace_id"]: row for row in rows}
    return [
        {"workspace": ws, **by_slug.get(ws.slug, {"conversions": 0, "value": {}})}
        for ws in Workspace.objects.for_org(org)
    ]


def conversion_list_recent(*, org: Organization, limit: int = 20) -> list[Conversion]:
    return list(
        Conversion.objects.for_org(org)
        .select_related("contact", "workspace")
        .order_by("-converted_at", "-id")[:limit]
    )
