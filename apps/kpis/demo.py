"""Demo rows for the team features (seed_demo): traffic types, setters' dials and the hosts'
Calendly availability, through the same services as real data where there is one."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from apps.deals.models import CallActivity
from apps.kpis.models import TrafficType
from apps.meetings.utilization import host_availability_weeks_store
from apps.orgs.models import Organization, TeamMember
from attribution.sources.calendly_availability import parse_availability_schedule

DISPOSITIONS = ("answered", "answered", "no-answer", "no-answer", "vm-left", "busy")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def demo_team_extras(
    *,
    org: Organization,
    rng: random.Random,
    closers: list[TeamMember],
    setters: list[TeamMember],
    now: datetime,
) -> None:
    TrafficType.objects.create(org=org, name="Paid", sources=["facebook", "google"], position=1)
    TrafficType.objects.create(org=org, name="Organic", sources=["youtube"], position=2)
    for setter in setters:
        for day in range(30):
            for n in range(rng.randint(5, 25)):
                disposition = rng.choice(DISPOSITIONS)
                CallActivity.objects.create(
                    org=org,
                    external_id=f"acti_dial_{setter.pk}_{day}_{n}",
                    user=setter,
                    occurred_at=now - timedelta(days=day, minutes=12 * n),
                    duration_seconds=rng.randint(60, 900) if disposition == "answered" else 0,
                    direction="outbound",
                    disposition=disposition,
                )
    for i, host in enumerate([*closers, *setters]):
        uri = f"https://api.calendly.com/users/DEMO{i}"
        host.external_ids = {**(host.external_ids or {}), "calendly": uri}
        host.save(update_fields=["external_ids"])
        hours = [{"from": "09:00", "to": "12:00"}, {"from": "13:00", "to": "17:00"}]
        schedule = parse_availability_schedule(
            {
                "uri": f"https://api.calendly.com/user_availability_schedule/DEMO{i}",
                "default": True,
                "user": uri,
                "timezone": org.timezone,
                "rules": [
                    {"type": "wday", "wday": day, "intervals": hours if d < 5 else []}
                    for d, day in enumerate(WEEKDAYS)
                ],
            }
        )
        host_availability_weeks_store(org=org, host=host, schedule=schedule, now=now)
