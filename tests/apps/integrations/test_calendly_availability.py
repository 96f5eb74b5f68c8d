"""Calendly utilization: the nightly Calendly sync reads each host's availability schedule
(``GET /user_availability_schedules``, shaped as Calendly documents it), stores the bookable
slots of each week, and the dashboard sets the week's booked calls against them.

Hand-computed, 30-minute slots, today Thursday 12 March 2026 (New York):
- Closer Carla: Monday-Thursday 09:00-12:00 and 13:00-17:00 (14 slots a day), Friday 09:00-10:45
  (3 slots), weekends off, and Tuesday 10 March off by a date rule. Week of 9 March: 45 slots;
  of 16 March: 59. She hosts 11 calls that week, one cancelled and one the old side of a
  reschedule: 9 booked, 20.0%.
- Setter Sam: weekdays 10:00-12:00, 20 slots a week; 5 calls booked: 25.0%.
"""

from datetime import date, datetime, timedelta

import pytest
import responses
from django.urls import reverse

from apps.integrations.models import Credential, SyncRun
from apps.integrations.sync import sync_run
from apps.meetings.models import HostAvailabilityWeek, Meeting
from tests.apps.csv_read import csv_rows
from tests.apps.integrations.test_sync import CALENDLY, TOKEN, FakeCalendly, no_wait
from tests.factories import MeetingFactory

pytestmark = pytest.mark.django_db
TODAY = datetime(2026, 3, 12, 15, 0)
CARLA = f"{CALENDLY}/users/CARLA"
SAM = f"{CALENDLY}/users/SAM"
MARCH = {"start": "2026-03-09", "end": "2026-03-15"}


def wday(day, *intervals):
    return {"type": "wday", "wday": day, "intervals": [{"from": a, "to": b} for a, b in intervals]}


def calendly_schedule(user, rules, *, default=True, name="Working Hours"):
    return {
        "uri": f"{CALENDLY}/user_availability_schedule/{user.rsplit('/', 1)[-1]}-{name[:3]}",
        "default": default,
        "name": name,
        "user": user,
        "timezone": "America/New_York",
        "rules": rules,
    }


CARLA_RULES = [
    *(wday(d, ("09:00", "12:00"), ("13:00", "17:00")) for d in ("monday", "tuesday", "wednesday",
                                                              "thursday")),
    wday("friday", ("09:00", "10:45")),
    wday("saturday"),
    wday("sunday"),
    {"type": "date", "date": "2026-03-10", "intervals": []},
]  # fmt: skip
SAM_RULES = [
    *(
        wday(d, ("10:00", "12:00"))
        for d in ("monday", "tuesday", "wednesday", "thursday", "friday")
    ),
    wday("saturday"),
    wday("sunday"),
]


@pytest.fixture
def org(team_a):
    from apps.integrations.services import credential_set

    org = team_a.org
    org.timezone = "America/New_York"
    org.save()
    credential_set(org=org, provider="calendly", name="api_token", value=TOKEN, actor=None)
    return org


def members(team_a):
    return [
        {"user": {"uri": CARLA, "name": "Carla", "email": team_a.closer.email}},
        {"user": {"uri": SAM, "name": "Sam", "email": team_a.setter.email}},
    ]


def run_sync(org, team_a, schedules):
    fake = FakeCalendly(0, members=members(team_a), schedules=schedules)
    with responses.RequestsMock() as rsps:
        fake.install(rsps)
        run = sync_run(org=org, provider="calendly", client_options=no_wait())
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def default_schedules():
    return {
        CARLA: [
            calendly_schedule(
                CARLA, [wday("monday", ("18:00", "21:00"))], default=False, name="Evening"
            ),
            calendly_schedule(CARLA, CARLA_RULES),
        ],
        SAM: [calendly_schedule(SAM, SAM_RULES)],
    }


@pytest.fixture
def synced(org, team_a, time_machine):
    time_machine.move_to(TODAY.replace(tzinfo=org.tzinfo))
    run = run_sync(org, team_a, default_schedules())
    carla, sam = team_a.closer_member, team_a.setter_member

    def calls(host, n, day=date(2026, 3, 11), **extra):
        return [
            MeetingFactory(org=org, host=host, closer=host if host == carla else None,
                           scheduled_at=datetime.combine(day, datetime.min.time(), org.tzinfo)
                           + timedelta(hours=9, minutes=30 * i), **extra)
            for i in range(n)
        ]  # fmt: skip

    booked = calls(carla, 9)
    calls(carla, 1, status=Meeting.Status.CANCELED)
    calls(carla, 1, rescheduled_to=booked[0], status=Meeting.Status.RESCHEDULED)
    calls(carla, 2, day=date(2026, 3, 17))  # next week
    calls(sam, 5, day=date(2026, 3, 13))
    return run


def test_the_sync_stores_each_hosts_weeks(team_a, synced):
    weeks = {(w.host_id, w.week_start): w for w in HostAvailabilityWeek.objects.for_org(team_a.org)}
    carla, sam = team_a.closer_member.pk, team_a.setter_member.pk
    # The current week, the next, and four back filled from the schedule in force.
    assert sorted(d for h, d in weeks if h == carla) == [
        date(2026, 2, 9), date(2026, 2, 16), date(2026, 2, 23), date(2026, 3, 2),
        date(2026, 3, 9), date(2026, 3, 16),
    ]  # fmt: skip
    this_week = weeks[(carla, date(2026, 3, 9))]
    assert (this_week.available_slots, this_week.available_minutes) == (45, 3 * 420 + 105)
    assert weeks[(carla, date(2026, 3, 16))].available_slots == 59
    assert weeks[(sam, date(2026, 3, 9))].available_slots == 20
    assert this_week.schedule_timezone == "America/New_York"
    assert synced.reconciliation["availability"] == {"hosts": 2, "weeks": 12}


def test_the_dashboard_shows_booked_over_available(client, team_a, synced):
    client.force_login(team_a.manager)
    page = client.get(reverse("kpis:dashboard"), MARCH).content.decode()
    assert 'id="fig-utilization"' in page
    rows = csv_rows(client.get(reverse("kpis:dashboard"), {**MARCH, "format": "csv",
                                                          "table": "utilization"}))  # fmt: skip
    assert rows == [
        ["Week of", "Host", "Booked", "Available slots", "Utilization"],
        ["2026-03-09", team_a.closer_member.name, "9", "45", "20.0%"],
        ["2026-03-09", team_a.setter_member.name, "5", "20", "25.0%"],
    ]
    two_weeks = {"start": "2026-03-09", "end": "2026-03-22"}
    rows = csv_rows(client.get(reverse("kpis:dashboard"), {**two_weeks, "format": "csv",
                                                          "table": "utilization"}))  # fmt: skip
    assert ["2026-03-16", team_a.closer_member.name, "2", "59", "3.4%"] in rows


def test_a_later_sync_updates_this_week_and_keeps_past_weeks(org, team_a, synced, time_machine):
    time_machine.move_to(datetime(2026, 3, 17, 15, 0, tzinfo=org.tzinfo))  # the next Tuesday
    shorter = {CARLA: [calendly_schedule(CARLA, [wday("monday", ("09:00", "10:00"))])],
               SAM: [calendly_schedule(SAM, SAM_RULES)]}  # fmt: skip
    run_sync(org, team_a, shorter)
    weeks = dict(
        HostAvailabilityWeek.objects.for_org(org)
        .filter(host=team_a.closer_member)
        .values_list("week_start", "available_slots")
    )
    assert weeks[date(2026, 3, 9)] == 45  # the week that was, as it was
    assert weeks[date(2026, 3, 16)] == 2 and weeks[date(2026, 3, 23)] == 2


def test_a_token_without_the_availability_scope_skips_the_step(org, team_a):
    fake = FakeCalendly(0, members=members(team_a))
    with responses.RequestsMock() as rsps:
        fake.install(rsps)
        rsps.replace("GET", f"{CALENDLY}/user_availability_schedules", status=403,
                     json={"title": "Permission Denied", "message": "missing scope"})  # fmt: skip
        run = sync_run(org=org, provider="calendly", client_options=no_wait())
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert "availability:read" in run.reconciliation["availability"]["skipped"]
    assert Credential.objects.for_org(org).get(provider="calendly").rejected_at is None
    assert not HostAvailabilityWeek.objects.for_org(org).exists()


def test_reps_see_only_their_own_utilization(client, team_a, synced):
    for user, member in ((team_a.closer, team_a.closer_member),
                         (team_a.setter, team_a.setter_member)):  # fmt: skip
        client.force_login(user)
        rows = csv_rows(client.get(reverse("kpis:dashboard"), {**MARCH, "format": "csv",
                                                              "table": "utilization"}))  # fmt: skip
        assert [row[1] for row in rows[1:]] == [member.name], user


def test_another_org_sees_none_of_it(client, team_b, synced):
    client.force_login(team_b.manager)
    rows = csv_rows(client.get(reverse("kpis:dashboard"), {**MARCH, "format": "csv",
                                                          "table": "utilization"}))  # fmt: skip
    assert rows[1:] == []
