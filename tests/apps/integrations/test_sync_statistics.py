"""A backfill keeps the planner's statistics up with the tables it fills: without them, the
per-invitee meeting lookup scanned every meeting of the org instead of probing its unique index."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.integrations import sync_statistics
from apps.integrations.providers.calendly.records import meeting_state
from apps.meetings.models import Meeting
from tests.factories import MeetingFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _plan_of_last_query(run) -> str:
    with CaptureQueriesContext(connection) as captured:
        run()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + captured[-1]["sql"])
        return "\n".join(row[0] for row in cursor.fetchall())


def _analyzed(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples >= 0 FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def test_tables_a_sync_filled_are_analyzed_and_lookups_probe_the_unique_index(team_a):
    org = team_a.org
    meeting = MeetingFactory(org=org, provider="calendly")
    Meeting.objects.bulk_create(
        Meeting(
            org=org,
            contact=meeting.contact,
            provider="calendly",
            external_id=f"https://api.calendly.com/invitees/bulk-{i}",
            call_type=meeting.call_type,
            scheduled_at=meeting.scheduled_at,
        )
        for i in range(2000)
    )

    sync_statistics.statistics_refresh()

    assert all(_analyzed(table) for table in sync_statistics.filled_tables())
    plan = _plan_of_last_query(lambda: meeting_state(org, meeting.external_id))
    assert "meeting_unique_external_id" in plan, plan
    # Nothing grew since: the next check analyzes nothing.
    assert sync_statistics.statistics_refresh() == []
