"""Calendar utilization per host and week: the availability a sync stores, and the reads that
set booked calls against it. Formulas: ``attribution.kpis.utilization``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, DateField
from django.db.models.functions import Trunc
from django.utils import timezone

from apps.meetings.models import HostAvailabilityWeek, Meeting
from apps.meetings.services import ENDED_STATUSES
from apps.orgs.models import Organization, TeamMember
from attribution.kpis.utilization import utilization, week_availability, week_start
from attribution.sources.calendly_availability import AvailabilitySchedule

# org.settings key: the length of one bookable slot, in minutes.
SLOT_MINUTES_SETTING = "utilization_slot_minutes"
DEFAULT_SLOT_MINUTES = 30
# A first sync fills this many weeks back from the current schedule (later syncs leave past
# weeks as they were stored: the schedule then was the one in force then).
BACKFILL_WEEKS = 4
AHEAD_WEEKS = 1


def slot_minutes_for(*, org: Organization) -> int:
    value = (org.settings or {}).get(SLOT_MINUTES_SETTING)
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        return DEFAULT_SLOT_MINUTES
    return minutes if 5 <= minutes <= 720 else DEFAULT_SLOT_MINUTES


def host_availability_weeks_store(
    *,
    org: Organization,
    host: TeamMember,
    schedule: AvailabilitySchedule,
    today: date | None = None,
    now: datetime | None = None,
) -> int:
    """Stores the host's available time for the current week and the next, and for the
    BACKFILL_WEEKS before it where none is stored yet; returns the weeks written."""
    now = now or timezone.now()
    today = today or timezone.localdate(now, timezone=org.tzinfo)
    slot = slot_minutes_for(org=org)
    current = week_start(today)
    existing = set(
        HostAvailabilityWeek.objects.for_org(org)
        .filter(host=host, week_start__lt=current)
        .values_list("week_start", flat=True)
    )
    written = 0
    for offset in range(-BACKFILL_WEEKS, AHEAD_WEEKS + 1):
        monday = current + timedelta(weeks=offset)
        if monday < current and monday in existing:
            continue  # a past week keeps the schedule that was in force then
        week = week_availability(schedule, monday, slot_minutes=slot)
        HostAvailabilityWeek.objects.update_or_create(
            org=org,
            host=host,
            week_start=monday,
            defaults={
                "available_minutes": week.minutes,
                "available_slots": week.slots,
                "slot_minutes": slot,
                "schedule_uri": schedule.uri,
                "schedule_timezone": schedule.timezone,
                "synced_at": now,
            },
        )
        written += 1
    return written


@dataclass(frozen=True)
class HostWeek:
    host_id: int
    host: str
    week_start: date
    booked: int
    available_slots: int

    @property
    def utilization(self) -> Decimal | None:
        return utilization(self.booked, self.available_slots)


def utilization_by_host_week(
    *,
    org: Organization,
    start: date,
    end: date,
    hosts: list[TeamMember] | None = None,
) -> list[HostWeek]:
    """Every stored host week overlapping [start, end], with the calls booked on that host in
    it (cancelled calls and the old side of a reschedule free their slot: not counted).
    ``hosts``: only theirs (a rep's own; the dashboard's closer or setter filter)."""
    from apps.orgs.calendar import org_period_bounds as period_bounds

    first, last = week_start(start), week_start(end)
    weeks = HostAvailabilityWeek.objects.for_org(org).filter(
        week_start__gte=first, week_start__lte=last
    )
    meetings = (
        Meeting.objects.for_org(org).filter(host__isnull=False).exclude(status__in=ENDED_STATUSES)
    )
    if hosts:
        weeks = weeks.filter(host__in=hosts)
        meetings = meetings.filter(host__in=hosts)
    lo, _ = period_bounds(org, first, first)
    _, hi = period_bounds(org, last + timedelta(days=6), last + timedelta(days=6))
    booked: dict[tuple[int, date], int] = defaultdict(int)
    for row in (
        meetings.filter(scheduled_at__gte=lo, scheduled_at__lt=hi)
        .values(
            "host_id",
            week=Trunc("scheduled_at", "week", output_field=DateField(), tzinfo=org.tzinfo),
        )
        .annotate(n=Count("pk"))
        .order_by()
    ):
        booked[(row["host_id"], row["week"])] += row["n"]
    return [
        HostWeek(host_id, name, monday, booked.get((host_id, monday), 0), slots)
        for host_id, name, monday, slots in weeks.order_by("week_start", "host__name").values_list(
            "host_id", "host__name", "week_start", "available_slots"
        )
    ]


def utilization_by_host(rows: list[HostWeek]) -> list[HostWeek]:
    """The period per host: booked and available slots summed over its weeks."""
    totals: dict[int, list] = {}
    for row in rows:
        entry = totals.setdefault(row.host_id, [row.host, 0, 0])
        entry[1] += row.booked
        entry[2] += row.available_slots
    return [
        HostWeek(host_id, name, rows[0].week_start, booked, slots)
        for host_id, (name, booked, slots) in sorted(totals.items(), key=lambda kv: kv[1][0])
    ]
