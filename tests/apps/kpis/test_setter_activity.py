"""Setter activity from Close call activities, ingested as Close sends them, against hand-computed
figures; on the setter leaderboard, in its day table and chart, and in the setter's portal.

The org keeps New York time: a call at 03:00 UTC on 10 March is the 9th's last dial.

Setter Sam (Close user ``user_sam_setter``), 9 March: answered 300 s, answered 180 s, no-answer,
vm-left 25 s, an inbound answered call of 600 s (no dial), and a call logged without disposition
that lasted 90 s: 5 dials, 3 connected, talk 570 s (9:30), average 190 s (3:10); two calls booked
that day (a triage and a solution call), plus the old side of a reschedule (not a booking):
2 bookings, 40.0 per 100 dials. 10 March: busy, answered 420 s: 2 dials, 1 connected, 7:00 each;
no booking. The month: 7 dials, 4 connected, 16:30 of talk, 4:08 average, 28.6 per 100 dials.
Closer Eric's own answered dial of 1,000 s is no setter activity.
"""

from datetime import datetime
from itertools import count

import pytest
from django.urls import reverse

from apps.integrations.ingest import ingest_record, parse_payload
from apps.kpis.activity import activity_totals, setter_activity
from apps.meetings.models import CallType
from attribution.kpis.activity import ActivityCounts
from tests.apps.csv_read import csv_rows
from tests.attribution.sources.conftest import load_fixture
from tests.factories import MeetingFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}
_ids = count(1)


def close_call(org, *, user: str, at: str, disposition=None, duration=0, direction="outbound"):
    envelope = load_fixture("close/activity.call.created")
    n = next(_ids)
    data = envelope["event"]["data"]
    envelope["event"]["id"] = f"ev_call_{n}"
    data.update(
        id=f"acti_call_{n}",
        lead_id=f"lead_{n}",
        contact_id=f"cont_{n}",
        user_id=user,
        activity_at=at,
        date_created=at,
        direction=direction,
        duration=duration,
        phone=f"+1415555{3000 + n}",
    )
    data.pop("custom.cf_call_outcome")
    if disposition is None:
        data.pop("disposition")
    else:
        data["disposition"] = disposition
    record = parse_payload(org=org, provider="close", envelope=envelope)
    ingest_record(org=org, record=record, via="webhook")


@pytest.fixture
def sam(team_a):
    org = team_a.org
    org.timezone = "America/New_York"
    org.save()
    sam = team_a.setter_member
    sam.external_ids = {"close": "user_sam_setter"}
    sam.save()
    team_a.closer_member.external_ids = {"close": "user_eric_closer"}
    team_a.closer_member.save()
    for at, disposition, duration, direction in (
        ("2026-03-09T14:00:00+00:00", "answered", 300, "outbound"),
        ("2026-03-09T14:10:00+00:00", "answered", 180, "outbound"),
        ("2026-03-09T14:20:00+00:00", "no-answer", 0, "outbound"),
        ("2026-03-09T14:30:00+00:00", "vm-left", 25, "outbound"),
        ("2026-03-09T15:00:00+00:00", "answered", 600, "inbound"),
        ("2026-03-10T03:00:00+00:00", None, 90, "outbound"),
        ("2026-03-10T15:00:00+00:00", "busy", 0, "outbound"),
        ("2026-03-10T16:00:00+00:00", "answered", 420, "outbound"),
    ):
        close_call(
            org,
            user="user_sam_setter",
            at=at,
            disposition=disposition,
            duration=duration,
            direction=direction,
        )
    close_call(org, user="user_eric_closer", at="2026-03-09T16:00:00+00:00",
               disposition="answered", duration=1000)  # fmt: skip
    booked = datetime(2026, 3, 9, 11, tzinfo=org.tzinfo)
    later = datetime(2026, 3, 20, 11, tzinfo=org.tzinfo)
    new = MeetingFactory(org=org, setter=sam, call_type=CallType.TRIAGE, scheduled_at=later,
                         booked_at=booked)  # fmt: skip
    MeetingFactory(org=org, setter=sam, closer=team_a.closer_member, call_type=CallType.SOLUTION,
                   scheduled_at=later, booked_at=booked)  # fmt: skip
    MeetingFactory(org=org, setter=sam, call_type=CallType.TRIAGE, scheduled_at=later,
                   booked_at=booked, rescheduled_to=new)  # fmt: skip
    return sam


def test_the_selector_counts_per_setter_and_local_day(team_a, sam):
    org = team_a.org
    rows = setter_activity(
        org=org, start=datetime(2026, 3, 1).date(), end=datetime(2026, 3, 31).date()
    )
    assert rows == {
        (sam.pk, datetime(2026, 3, 9).date()): ActivityCounts(
            dials=5, connected=3, talk_seconds=570, bookings=2
        ),
        (sam.pk, datetime(2026, 3, 10).date()): ActivityCounts(
            dials=2, connected=1, talk_seconds=420, bookings=0
        ),
    }
    assert activity_totals(rows)[sam.pk].display() == {
        "dials": "7",
        "connected": "4",
        "connect_rate": "57.1%",
        "talk_time": "16:30",
        "avg_call": "4:08",
        "bookings": "2",
        "bookings_per_100_dials": "28.6",
    }


def test_the_setter_leaderboard_carries_the_activity(client, team_a, sam):
    client.force_login(team_a.manager)
    rows = csv_rows(
        client.get(reverse("kpis:dashboard"), {**MARCH, "format": "csv", "table": "setters"})
    )
    header = rows[0]
    assert header[-5:] == ["Dials", "Connected", "Talk time", "Avg call", "Bookings / 100 dials"]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name[sam.name][-5:] == ["7", "4", "16:30", "4:08", "28.6"]
    assert team_a.closer_member.name not in by_name  # a closer's dials are not setter activity


def test_the_day_table_and_chart(client, team_a, sam):
    client.force_login(team_a.manager)
    page = client.get(reverse("kpis:dashboard"), MARCH).content.decode()
    assert 'id="fig-setter-activity"' in page
    days = csv_rows(
        client.get(reverse("kpis:dashboard"), {**MARCH, "format": "csv", "table": "activity"})
    )
    assert days[0] == ["Day", "Dials", "Connected", "Connect rate", "Talk time", "Avg call",
                       "Bookings", "Bookings / 100 dials"]  # fmt: skip
    assert len(days) == 32  # every day of March, quiet ones as zeros
    assert days[9] == ["2026-03-09", "5", "3", "60.0%", "9:30", "3:10", "2", "40.0"]
    assert days[10] == ["2026-03-10", "2", "1", "50.0%", "7:00", "7:00", "0", "0.0"]
    assert days[1] == ["2026-03-01", "0", "0", "—", "0:00", "—", "0", "—"]


def test_a_closer_filter_leaves_activity_without_a_value(client, team_a, sam):
    client.force_login(team_a.closer)
    rows = csv_rows(
        client.get(reverse("kpis:dashboard"), {**MARCH, "format": "csv", "table": "setters"})
    )
    for row in rows[1:]:
        assert row[-5:] == ["—"] * 5, row
    days = csv_rows(
        client.get(reverse("kpis:dashboard"), {**MARCH, "format": "csv", "table": "activity"})
    )
    assert days[1:] == []


def test_a_setter_sees_only_their_own_dials(client, team_a, sam):
    other = TeamMemberFactory(org=team_a.org, name="Other Setter", is_setter=True,
                              external_ids={"close": "user_other"})  # fmt: skip
    close_call(team_a.org, user="user_other", at="2026-03-09T17:00:00+00:00",
               disposition="answered", duration=50)  # fmt: skip
    client.force_login(team_a.manager)
    rows = csv_rows(
        client.get(reverse("kpis:dashboard"), {**MARCH, "format": "csv", "table": "setters"})
    )
    assert {row[0] for row in rows[1:]} >= {sam.name, other.name}
    client.force_login(team_a.setter)
    rows = csv_rows(
        client.get(reverse("kpis:dashboard"), {**MARCH, "format": "csv", "table": "setters"})
    )
    assert [row[0] for row in rows[1:]] == [sam.name]
    days = csv_rows(
        client.get(reverse("kpis:dashboard"), {**MARCH, "format": "csv", "table": "activity"})
    )
    assert days[9][1] == "5"  # the other setter's dial is not in Sam's day


def test_another_org_sees_none_of_it(client, team_b, sam):
    client.force_login(team_b.manager)
    days = csv_rows(
        client.get(reverse("kpis:dashboard"), {**MARCH, "format": "csv", "table": "activity"})
    )
    assert all(row[1] == "0" for row in days[1:])
    rows = csv_rows(
        client.get(reverse("kpis:dashboard"), {**MARCH, "format": "csv", "table": "setters"})
    )
    assert sam.name not in {row[0] for row in rows[1:]}


def test_the_setters_portal_shows_their_month(client, team_a, sam, time_machine):
    time_machine.move_to(datetime(2026, 3, 15, 12, tzinfo=team_a.org.tzinfo))
    client.force_login(team_a.setter)
    page = client.get(reverse("rep:portal")).content.decode()
    assert "My dials this month" in page and 'id="fig-my-activity"' in page
    assert '<td>2026-03-09</td><td class="num">5</td><td class="num">3</td>' in page
    assert "<p>16:30</p>" in page and "<p>28.6</p>" in page
    client.force_login(team_a.closer)
    assert "My dials this month" not in client.get(reverse("rep:portal")).content.decode()
