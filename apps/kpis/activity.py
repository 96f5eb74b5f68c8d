"""Setter activity reads: Close call activities (``deals.CallActivity``) and the calls each setter
booked, per setter and day in the org's time zone. The rules (what a dial is, what connected
means, the ratios) are ``attribution.kpis.activity``'s; this module only counts.

One query groups the period's calls by (setter, day, direction, disposition, lasted a second or
more), a handful of rows per setter and day whatever the call volume; the rules then classify
each group in Python, so SQL never restates them. A second query counts bookings.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, Sum
from django.db.models.functions import Coalesce, Lower, TruncDate

from apps.deals.models import CallActivity
from apps.meetings.models import CallType, Meeting
from apps.orgs.models import Organization, TeamMember
from attribution.kpis import apply_rep_filter, compute_kpis
from attribution.kpis.activity import ActivityCounts, is_connected, is_dial

__all__ = [
    "ActivityRows",
    "activity_by_day",
    "activity_totals",
    "contact_filter",
    "dashboard_activity",
    "setter_activity",
    "setters_with_activity",
]

# {(setter id, local day): counts}
ActivityRows = dict[tuple[int, date], ActivityCounts]


def _bounds(org: Organization, start: date, end: date):
    from apps.orgs.calendar import org_period_bounds as period_bounds

    return period_bounds(org, start, end)


def setter_activity(
    *,
    org: Organization,
    start: date,
    end: date,
    setter: TeamMember | None = None,
    contacts: Q | None = None,
) -> ActivityRows:
    """Dials, connected calls, talk time and bookings per setter and day, ``end`` inclusive.

    Only roster setters' calls count (a closer's own dials are not setter activity). ``setter``
    narrows to one; ``contacts`` is a filter on the calls' contact (source, campaign ...), given
    as a Q over Contact fields.
    """
    tz = org.tzinfo
    lo, hi = _bounds(org, start, end)
    calls = CallActivity.objects.for_org(org).filter(
        occurred_at__gte=lo, occurred_at__lt=hi, user__is_setter=True
    )
    meetings = Meeting.objects.for_org(org).filter(
        setter__isnull=False,
        call_type__in=[CallType.TRIAGE, CallType.SOLUTION],
        rescheduled_to__isnull=True,  # KPIS.md: a reschedule is one booking, the new one
    )
    if setter is not None:
        calls = calls.filter(user=setter)
        meetings = meetings.filter(setter=setter)
    if contacts is not None:
        calls = calls.filter(_prefixed(contacts, "contact__"))
        meetings = meetings.filter(_prefixed(contacts, "contact__"))
    rows: dict[tuple[int, date], ActivityCounts] = defaultdict(ActivityCounts)
    grouped = (
        calls.values(
            "user_id",
            day=TruncDate("occurred_at", tzinfo=tz),
            direction_folded=Lower("direction"),
            disposition_folded=Lower("disposition"),
            lasted=ExpressionWrapper(Q(duration_seconds__gt=0), output_field=BooleanField()),
        )
        .annotate(n=Count("pk"), seconds=Sum("duration_seconds"))
        .order_by()
    )
    for row in grouped:
        if not is_dial(row["direction_folded"]):
            continue
        connected = is_connected(row["disposition_folded"], 1 if row["lasted"] else 0)
        rows[(row["user_id"], row["day"])] += ActivityCounts(
            dials=row["n"],
            connected=row["n"] if connected else 0,
            talk_seconds=(row["seconds"] or 0) if connected else 0,
        )
    booked = Coalesce("booked_at", "created_at")
    bookings = (
        meetings.annotate(booked=booked)
        .filter(booked__gte=lo, booked__lt=hi)
        .values("setter_id", day=TruncDate("booked", tzinfo=tz))
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in bookings:
        rows[(row["setter_id"], row["day"])] += ActivityCounts(bookings=row["n"])
    return dict(rows)


def _prefixed(q: Q, prefix: str) -> Q:
    """``q`` over Contact fields, re-rooted at ``prefix`` (a relation to the contact)."""
    out = Q()
    out.connector, out.negated = q.connector, q.negated
    for child in q.children:
        if isinstance(child, Q):
            out.children.append(_prefixed(child, prefix))
        else:
            key, value = child
            out.children.append((prefix + key, value))
    return out


def activity_totals(rows: ActivityRows) -> dict[int, ActivityCounts]:
    out: dict[int, ActivityCounts] = defaultdict(ActivityCounts)
    for (setter_id, _day), counts in rows.items():
        out[setter_id] += counts
    return dict(out)


def activity_by_day(
    rows: ActivityRows, start: date, end: date
) -> list[tuple[date, ActivityCounts]]:
    """Every day of the period in order, quiet ones as zeros, all setters of ``rows`` summed."""
    per_day: dict[date, ActivityCounts] = defaultdict(ActivityCounts)
    for (_setter_id, day), counts in rows.items():
        per_day[day] += counts
    return [
        (start + timedelta(days=i), per_day.get(start + timedelta(days=i), ActivityCounts()))
        for i in range((end - start).days + 1)
    ]


def setters_with_activity(
    *, org: Organization, setters: list[dict], totals: dict[int, ActivityCounts] | None
) -> list[dict]:
    """The setter leaderboard's rows with their activity beside them; a setter who dialled but
    booked nothing gets a row too. ``totals`` None: activity has no value here (a closer filter)."""
    from apps.kpis.selectors import _empty_base

    rows = [dict(row) for row in setters]
    if totals is None:
        for row in rows:
            row["activity"] = None
        return rows
    known = {row["id"] for row in rows}
    missing = [setter_id for setter_id in totals if setter_id not in known]
    names = dict(TeamMember.objects.for_org(org).filter(pk__in=missing).values_list("pk", "name"))
    for setter_id in missing:
        base = apply_rep_filter(_empty_base(), closer=True)
        rows.append(
            {"id": setter_id, "name": names.get(setter_id, "?"), "base": base,
             "kpis": compute_kpis(base)}
        )  # fmt: skip
    for row in rows:
        row["activity"] = totals.get(row["id"], ActivityCounts())
    return rows


def dashboard_activity(*, org: Organization, start: date, end: date, filters, setters: list[dict]):
    """(setter rows with activity, the period's activity by day) for the dashboard's filters.

    A closer filter leaves activity without a value (dials belong to setters, not to the closer
    whose calls are shown), as it leaves leads and ad spend; a setter filter narrows to them.
    """
    if filters.closer is not None:
        return setters_with_activity(org=org, setters=setters, totals=None), None
    rows = setter_activity(
        org=org,
        start=start,
        end=end,
        setter=filters.setter,
        contacts=contact_filter(org=org, filters=filters),
    )
    with_activity = setters_with_activity(org=org, setters=setters, totals=activity_totals(rows))
    return with_activity, activity_by_day(rows, start, end)


def contact_filter(*, org: Organization, filters) -> Q | None:
    """The dashboard's marketing filters as a Q over Contact fields (None: no such filter)."""
    from apps.contacts.models import Contact
    from apps.kpis.traffic import traffic_case, traffic_rules

    q = Q()
    if filters.source is not None:
        q &= Q(original_source=filters.source)
    if filters.campaign is not None:
        q &= Q(original_campaign=filters.campaign)
    if filters.lead_source is not None:
        q &= Q(crm_lead_source=filters.lead_source)
    if filters.traffic_type is not None:
        rules = traffic_rules(org=org)
        of_type = (
            Contact.objects.for_org(org)
            .annotate(
                _traffic=traffic_case(
                    rules, source="original_source", lead_source="crm_lead_source"
                )
            )
            .filter(_traffic=filters.traffic_type)
        )
        q &= Q(pk__in=of_type.values("pk"))
    return q if q.children else None


def rep_activity(*, org: Organization, member: TeamMember, start: date, end: date) -> dict:
    """A setter's own activity for the rep portal: the day table, its chart and the totals."""
    from apps.kpis import charts
    from apps.kpis.tables import activity_table

    rows = setter_activity(org=org, start=start, end=end, setter=member)
    days = activity_by_day(rows, start, end)
    total = activity_totals(rows).get(member.pk, ActivityCounts())
    return {
        "activity_total": total.display(),
        "activity_table": activity_table(days, "My dials by day"),
        "activity_figure": charts.setter_activity(days),
    }
