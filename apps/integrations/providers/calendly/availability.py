"""The Calendly sync's availability step: each linked host's availability schedules
(``GET /user_availability_schedules?user=<uri>``, scope ``availability:read``) -> the weeks of
bookable time that utilization is measured against (``meetings.utilization``).

Kept apart from the invitee walk: it runs after it in ``CalendlySync.sync`` and only needs the
client. A token without the availability scope answers 403; that skips the step with a note on
the run instead of refusing a credential that reads bookings perfectly well.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from apps.integrations.clients.base import AuthError, PermanentError
from apps.meetings.utilization import host_availability_weeks_store
from apps.orgs.models import Organization, TeamMember
from attribution.sources.calendly_availability import (
    default_schedule,
    parse_availability_schedule,
)
from attribution.sources.records import ParseError

logger = logging.getLogger(__name__)


def user_availability_schedules(client, user_uri: str) -> Iterator[Mapping[str, Any]]:
    """Every availability schedule of one Calendly user (a page token is followed if given)."""
    params: dict[str, Any] = {"user": user_uri}
    while True:
        body = client.get("/user_availability_schedules", params)
        yield from body.get("collection") or []
        token = (body.get("pagination") or {}).get("next_page_token")
        if not token:
            return
        params = {"user": user_uri, "page_token": token}


def availability_sync(*, org: Organization, client) -> dict[str, Any]:
    """Stores the weeks of every host linked to a Calendly user; returns the run's figures."""
    hosts = [
        member
        for member in TeamMember.objects.for_org(org).filter(active=True)
        if isinstance((member.external_ids or {}).get("calendly"), str)
    ]
    figures: dict[str, Any] = {"hosts": 0, "weeks": 0}
    for host in hosts:
        try:
            schedules = [
                parse_availability_schedule(item)
                for item in user_availability_schedules(client, host.external_ids["calendly"])
            ]
        except AuthError:
            figures["skipped"] = "the token may not read availability (availability:read)"
            return figures
        except (PermanentError, ParseError) as exc:
            # One host's unreadable schedule must not cost the others theirs.
            logger.warning("calendly availability of team member %s skipped: %s", host.pk, exc)
            figures["failed_hosts"] = figures.get("failed_hosts", 0) + 1
            continue
        schedule = default_schedule(schedules)
        if schedule is None:
            continue
        figures["weeks"] += host_availability_weeks_store(org=org, host=host, schedule=schedule)
        figures["hosts"] += 1
    return figures
