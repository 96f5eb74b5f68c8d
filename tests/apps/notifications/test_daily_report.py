"""The daily report: the dashboard's numbers for yesterday (org-local), at the org's time."""

import json
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
import responses
import time_machine
from django.core import mail
from django.urls import reverse

from apps.kpis.services import rollup_rebuild
from apps.meetings.models import Meeting
from apps.notifications import selectors
from apps.notifications.models import Delivery, Kind, NotificationSettings, RepSlackUser
from apps.notifications.services import daily_report_send
from apps.notifications.tasks import daily_report_task, notifications_tick_task
from attribution.kpis.metrics import METRICS
from tests.apps.notifications.conftest import POST_MESSAGE, WEBHOOK_URL, make_channel
from tests.factories import MeetingFactory, PaymentFactory, PostCallFormFactory

pytestmark = pytest.mark.django_db

# 20:30 in New York on 3 December is already the 4th in UTC: "yesterday" must be the org's.
NOW = datetime.fromisoformat("2026-12-04T01:30:00+00:00")
DAY = "2026-12-02"


def _at(org, day: str, hour: int):
    return datetime.combine(datetime.fromisoformat(day).date(), time(hour), tzinfo=org.tzinfo)


@pytest.fixture
def org(team_a):
    org = team_a.org
    org.timezone = "America/New_York"
    org.save()
    return org


@pytest.fixture
def yesterday_in_new_york(team_a, org):
    """Calls and money of 2 December (New York), and some just outside it."""
    closer, other, setter = team_a.closer_member, team_a.other_closer_member, team_a.setter_member
    for hour, showed, member in ((10, True, closer), (11, True, other), (14, False, closer)):
        meeting = MeetingFactory(
            org=org,
            scheduled_at=_at(org, DAY, hour),
            closer=member,
            setter=setter,
            showed=showed,
            status=Meeting.Status.COMPLETED if showed else Meeting.Status.NO_SHOW,
        )
        if showed:
            PostCallFormFactory(meeting=meeting, org=org, lead_showed=True)
    MeetingFactory(org=org, scheduled_at=_at(org, DAY, 9), call_type="triage", setter=setter)
    # 23:30 on the 2nd in New York is the 3rd in UTC: still the 2nd's.
    MeetingFactory(org=org, scheduled_at=_at(org, DAY, 23) + timedelta(minutes=30), closer=closer)
    MeetingFactory(org=org, scheduled_at=_at(org, "2026-12-03", 1), closer=closer)  # the 3rd
    PaymentFactory(org=org, closer=closer, amount=Decimal("1500.00"), paid_at=_at(org, DAY, 12))
    PaymentFactory(org=org, closer=other, amount=Decimal("400.00"), paid_at=_at(org, DAY, 13))
    PaymentFactory(
        org=org, closer=other, amount=Decimal("9999.00"), paid_at=_at(org, "2026-12-01", 23)
    )
    rollup_rebuild(org=org)  # as the rollup task does after each write


def _dashboard_cards(client, user, day):
    client.force_login(user)
    response = client.get(reverse("kpis:dashboard"), {"start": day, "end": day})
    assert response.status_code == 200
    cards = {card.name: card.value for card in response.context["headline"]}
    for section in response.context["sections"]:
        cards |= {card.name: card.value for card in section["cards"]}
    return cards


def _fields(blocks) -> dict[str, str]:
    out = {}
    for block in blocks:
        for field in block.get("fields", []):
            label, value = field["text"].split("\n", 1)
            out[label.strip("*")] = value
    return out


@time_machine.travel(NOW, tick=False)
@responses.activate
def test_the_report_blocks_carry_the_dashboards_numbers_for_that_day(
    client, team_a, org, yesterday_in_new_york
):
    make_channel(org, kinds=[Kind.DAILY_REPORT])
    responses.post(WEBHOOK_URL, body="ok")
    day = datetime.fromisoformat(DAY).date()
    daily_report_send(org=org, day=day)

    (call,) = responses.calls
    body = json.loads(call.request.body)
    fields = _fields(body["blocks"])
    cards = _dashboard_cards(client, team_a.manager, DAY)
    for name in selectors.REPORT_FIGURES:
        assert fields[METRICS[name].label] == cards[name], name
    # The day's figures, worked out by hand, so the comparison is not of two empty reports.
    assert fields["Solution calls booked"] == "4"
    assert fields["Triage calls booked"] == "1"
    # Showed: the solution calls at 10:00, 11:00 and 23:30 and the triage call (no outcome
    # recorded counts as held); the 14:00 no-show does not.
    assert fields["Calls held"] == "4"
    assert fields["PCFs owed"] == "3"  # 14:00, 23:30 and the triage call have no PCF
    assert fields["Cash collected"] == "$1,900.00"
    assert fields["Top closer"] == f"{team_a.closer_member.name} ($1,500.00)"
    assert fields["Top setter"] == f"{team_a.setter_member.name} (3 booked)"
    assert "Wednesday 02 December 2026" in body["text"]
    assert f"start={DAY}&amp;end={DAY}" not in json.dumps(body)  # URLs are not escaped
    button = body["blocks"][-2]["elements"][0]
    assert button["url"].endswith(f"/dashboard/?start={DAY}&end={DAY}")


@time_machine.travel(NOW, tick=False)
@responses.activate
def test_a_retried_task_posts_once(team_a, org, yesterday_in_new_york):
    """The first run posts to one channel while Slack keeps rate-limiting the other; the task's
    retry posts only to the second."""
    first = make_channel(org, kinds=[Kind.DAILY_REPORT], name="First")
    second_url = WEBHOOK_URL + "SECOND"
    second = make_channel(org, kinds=[Kind.DAILY_REPORT], name="Second")
    from apps.notifications.services import channel_save

    channel_save(channel=second, secret=second_url, actor=None)
    responses.post(WEBHOOK_URL, body="ok")
    for _ in range(4):  # the client's three waits, all spent (Retry-After: 0 sleeps nothing)
        responses.post(second_url, status=429, headers={"Retry-After": "0"})
    responses.post(second_url, body="ok")

    conf = daily_report_task.app.conf
    propagates, conf.task_eager_propagates = conf.task_eager_propagates, False
    try:
        daily_report_task.delay(org.pk, DAY)  # eager: its retry runs at once
    finally:
        conf.task_eager_propagates = propagates

    posted = [c.request.url for c in responses.calls]
    assert posted.count(WEBHOOK_URL) == 1
    assert posted.count(second_url) == 5
    rows = {d.channel_id: d for d in Delivery.objects.filter(kind=Kind.DAILY_REPORT)}
    assert (rows[first.pk].status, rows[first.pk].attempts) == (Delivery.Status.SENT, 1)
    assert (rows[second.pk].status, rows[second.pk].attempts) == (Delivery.Status.SENT, 2)

    # A second tick the same evening finds everything sent and enqueues nothing.
    daily_report_task.delay(org.pk, DAY)
    assert len(responses.calls) == 6


def test_the_tick_enqueues_orgs_whose_local_report_time_has_passed(team_a, team_b, org):
    make_channel(org, kinds=[Kind.DAILY_REPORT])
    NotificationSettings.objects.create(org=org, daily_report_time=time(20, 0))
    make_channel(team_b.org, kinds=[Kind.DAILY_REPORT])  # UTC, default 08:00
    # 19:45 in New York, 00:45 UTC: neither is due (org B's day has only just begun).
    assert selectors.daily_report_due(now=datetime.fromisoformat("2026-12-04T00:45:00+00:00")) == []
    # 20:15 in New York: org A's report of the 3rd; org B still waits for its 08:00.
    due = selectors.daily_report_due(now=datetime.fromisoformat("2026-12-04T01:15:00+00:00"))
    assert due == [(org.pk, datetime.fromisoformat("2026-12-02").date())]
    # 08:00 UTC: org B's report of the 3rd; in New York it is 03:00, before org A's time.
    due = selectors.daily_report_due(now=datetime.fromisoformat("2026-12-04T08:00:00+00:00"))
    assert due == [(team_b.org.pk, datetime.fromisoformat("2026-12-03").date())]


@time_machine.travel(datetime.fromisoformat("2026-12-04T13:05:00+00:00"), tick=False)
@responses.activate
def test_the_beat_tick_sends_each_report_once(team_a, org):
    make_channel(org, kinds=[Kind.DAILY_REPORT])
    responses.post(WEBHOOK_URL, body="ok")
    assert notifications_tick_task.delay().get() == 1
    assert notifications_tick_task.delay().get() == 0  # sent: nothing enqueued
    assert len(responses.calls) == 1
    assert Delivery.objects.get().period == "2026-12-03"


@time_machine.travel(NOW, tick=False)
@responses.activate
def test_overdue_pcf_reminders_go_by_dm_when_the_reps_slack_user_is_known(team_a, org, bot_channel):
    closer, other = team_a.closer_member, team_a.other_closer_member
    mine = MeetingFactory(org=org, closer=closer, scheduled_at=NOW - timedelta(days=2))
    theirs = MeetingFactory(org=org, closer=other, scheduled_at=NOW - timedelta(days=3))
    RepSlackUser.objects.create(org=org, team_member=closer, slack_user_id="U0CLOSER")
    responses.post(POST_MESSAGE, json={"ok": True})
    from apps.notifications.services import pcf_reminders_send

    pcf_reminders_send(org=org, day=datetime.fromisoformat(DAY).date())
    sent = {
        json.loads(c.request.body)["channel"]: json.loads(c.request.body) for c in responses.calls
    }
    # The closer with a Slack user gets a DM linking to their own form; the other closer (no
    # Slack user) is reminded in the reminders channel.
    assert set(sent) == {"U0CLOSER", "C0SALES"}
    dm = json.dumps(sent["U0CLOSER"])
    assert reverse("meetings:pcf", args=[mine.pk]) in dm
    assert reverse("meetings:pcf", args=[theirs.pk]) not in dm
    channel_post = json.dumps(sent["C0SALES"])
    assert other.name in channel_post and "/link/" in channel_post  # no login: a magic link
    assert mail.outbox == []
