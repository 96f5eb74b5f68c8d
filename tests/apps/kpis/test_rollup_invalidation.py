"""Rollup invalidation is an explicit call from the services that change counted rows, bulk
writes included: after each service below, ``rollup_check`` finds no drift. (The row-by-row
services and the resolver are walked through in test_rollups.py.)"""

from datetime import timedelta

import pytest

from apps.deals.services import deals_upsert_from_crm_many
from apps.kpis.services import rollup_check, rollup_rebuild
from apps.meetings.services import meeting_assign_credit, org_recompute_showed
from tests.apps.kpis.helpers import at, lead, past_month
from tests.factories import MeetingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def month(team_a):
    start, end = past_month(2)
    return team_a.org, start, end


def _no_drift(org, start, end):
    assert rollup_check(org=org, start=start - timedelta(days=1), end=end + timedelta(days=1)) == []


def test_recomputing_showed_for_the_whole_org_refreshes_the_calls_days(
    team_a, month, django_capture_on_commit_callbacks
):
    org, start, end = month
    org.assume_show_without_outcome = True
    org.save()
    for day in (2, 9, 20):
        MeetingFactory(
            org=org,
            contact=lead(org, start),
            closer=team_a.closer_member,
            scheduled_at=at(org, start + timedelta(days=day)),
            showed=True,
        )
    rollup_rebuild(org=org)
    org.assume_show_without_outcome = False
    org.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert org_recompute_showed(org=org) == 3  # one bulk_update, no model signal
    _no_drift(org, start, end)


def test_a_triage_hosts_credit_moving_to_later_solution_calls_refreshes_their_days(
    team_a, month, django_capture_on_commit_callbacks
):
    org, start, end = month
    contact = lead(org, start)
    later = [
        MeetingFactory(
            org=org,
            contact=contact,
            call_type="solution",
            closer=team_a.closer_member,
            scheduled_at=at(org, start + timedelta(days=day)),
        )
        for day in (10, 15)
    ]
    triage = MeetingFactory(
        org=org,
        contact=contact,
        call_type="triage",
        host=team_a.setter_member,
        scheduled_at=at(org, start + timedelta(days=3)),
    )
    rollup_rebuild(org=org)
    with django_capture_on_commit_callbacks(execute=True):
        meeting_assign_credit(meeting=triage)  # the later calls' setter: one update()
    for meeting in later:
        meeting.refresh_from_db()
        assert meeting.setter == team_a.setter_member
    _no_drift(org, start, end)


def test_crm_deals_written_in_bulk_refresh_their_days(
    team_a, month, django_capture_on_commit_callbacks
):
    from attribution.sources import close
    from tests.attribution.sources.conftest import load_fixture

    org, start, _ = month
    opportunity = close.parse_webhook(load_fixture("close/opportunity.updated"))
    rollup_rebuild(org=org)
    with django_capture_on_commit_callbacks(execute=True):
        # bulk_insert and bulk_update: no model signal
        [(deal, _)] = deals_upsert_from_crm_many(org=org, items=[(opportunity, lead(org, start))])
    day = deal.closed_at.astimezone(org.tzinfo).date()
    assert rollup_check(org=org, start=day, end=day) == []
    _no_drift(org, start, start)
