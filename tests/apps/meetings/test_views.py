"""Rep portal, magic links, manager pages and the call-type mapping page."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from apps.meetings.models import CallTypeRule, Meeting, PostCallForm
from apps.meetings.selectors import meeting_suspected_duplicates
from apps.meetings.services import magic_link_token
from tests.factories import ContactFactory, MeetingFactory

PCF_ANSWERS = {
    "call_occurred": "yes",
    "lead_showed": "yes",
    "offer_made": "no",
    "deal_closed": "no",
}

pytestmark = pytest.mark.django_db


def owed(team_a, member=None, days=2, **kwargs):
    member = member or team_a.closer_member
    return MeetingFactory(
        org=team_a.org,
        closer=member,
        host=member,
        scheduled_at=timezone.now() - timedelta(days=days),
        **kwargs,
    )


# --- rep portal -------------------------------------------------------------------------------


def test_the_portal_lists_owed_forms_overdue_first_and_todays_and_upcoming_calls(client, team_a):
    recent = owed(team_a, days=0.1)
    old = owed(team_a, days=3)
    upcoming = MeetingFactory(
        org=team_a.org,
        closer=team_a.closer_member,
        host=team_a.closer_member,
        scheduled_at=timezone.now() + timedelta(days=2),
    )
    not_mine = owed(team_a, member=team_a.other_closer_member)
    client.force_login(team_a.closer)
    response = client.get(reverse("rep:portal"))
    assert response.status_code == 200
    assert [m.pk for m in response.context["owed"]] == [old.pk, recent.pk]
    assert response.context["owed"][0].is_overdue and not response.context["owed"][1].is_overdue
    assert [m.pk for m in response.context["upcoming"]] == [upcoming.pk]
    assert not_mine.pk not in [m.pk for m in response.context["owed"]]
    assert "My KPIs this month" in response.content.decode()


def test_a_filed_form_leaves_the_owed_list(client, team_a):
    meeting = owed(team_a)
    client.force_login(team_a.closer)
    client.post(reverse("meetings:pcf", args=[meeting.pk]), PCF_ANSWERS)
    assert client.get(reverse("rep:portal")).context["owed"] == []


def test_a_member_without_a_roster_entry_sees_an_explanation(client, team_a):
    client.force_login(team_a.manager)
    response = client.get(reverse("rep:portal"))
    assert response.status_code == 200 and response.context["member"] is None


def test_the_portal_is_get_only(client, team_a):
    client.force_login(team_a.closer)
    assert client.post(reverse("rep:portal")).status_code == 405


# --- magic links ------------------------------------------------------------------------------


def test_a_manager_emails_a_magic_link_that_opens_only_the_reps_own_forms(
    client, team_a, django_capture_on_commit_callbacks
):
    mine = owed(team_a)
    other = owed(team_a, member=team_a.other_closer_member)
    client.force_login(team_a.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("meetings:magic_link_send", args=[team_a.closer_member.pk]))
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [team_a.closer_member.email]
    link = next(w for w in mail.outbox[0].body.split() if "/rep/link/" in w)
    client.logout()
    home = client.get(link)
    assert home.status_code == 200
    assert [m.pk for m in home.context["owed"]] == [mine.pk]
    token = home.context["magic_token"]
    own = reverse("rep:magic_pcf", args=[token, mine.pk])
    assert client.get(own).status_code == 200
    assert client.post(own, PCF_ANSWERS).status_code == 200
    pcf = PostCallForm.objects.get(meeting=mine)
    assert pcf.author == team_a.closer_member
    assert client.get(reverse("rep:magic_pcf", args=[token, other.pk])).status_code == 404


def test_an_expired_magic_link_is_gone(client, team_a):
    with time_machine.travel(timezone.now() - timedelta(days=8)):
        token = magic_link_token(member=team_a.closer_member)
    meeting = owed(team_a)
    assert client.get(reverse("rep:magic_home", args=[token])).status_code == 410
    assert client.get(reverse("rep:magic_pcf", args=[token, meeting.pk])).status_code == 410
    assert client.post(reverse("rep:magic_pcf", args=[token, meeting.pk])).status_code == 410


def test_a_tampered_magic_link_is_not_found(client, team_a):
    token = magic_link_token(member=team_a.closer_member)
    assert client.get(reverse("rep:magic_home", args=[token[:-2] + "xx"])).status_code == 404


def test_a_magic_link_of_another_org_reaches_nothing_here(client, team_a, team_b):
    token = magic_link_token(member=team_b.closer_member)
    meeting_a = owed(team_a)
    assert client.get(reverse("rep:magic_pcf", args=[token, meeting_a.pk])).status_code == 404
    home = client.get(reverse("rep:magic_home", args=[token]))
    assert meeting_a.pk not in [m.pk for m in home.context["owed"]]


def test_a_magic_link_of_a_deactivated_rep_is_not_found(client, team_a):
    token = magic_link_token(member=team_a.closer_member)
    team_a.closer_member.active = False
    team_a.closer_member.save()
    assert client.get(reverse("rep:magic_home", args=[token])).status_code == 404


def test_magic_link_sending_is_for_managers(client, team_a, outsider):
    url = reverse("meetings:magic_link_send", args=[team_a.closer_member.pk])
    client.force_login(team_a.closer)
    assert client.post(url).status_code == 403
    client.force_login(team_a.manager)
    assert client.get(url).status_code == 405
    client.force_login(outsider)
    assert client.post(url).status_code == 404


# --- managers ---------------------------------------------------------------------------------


def test_overdue_forms_are_grouped_per_rep_and_a_reminder_is_one_digest(
    client, team_a, django_capture_on_commit_callbacks
):
    owed(team_a, days=2)
    owed(team_a, days=3)
    owed(team_a, member=team_a.other_closer_member, days=2)
    owed(team_a, days=0.1)  # not overdue yet
    client.force_login(team_a.manager)
    response = client.get(reverse("meetings:overdue"))
    assert response.status_code == 200
    groups = response.context["groups"]
    assert [(g.member, len(g.meetings)) for g in groups] == [
        (team_a.closer_member, 2),
        (team_a.other_closer_member, 1),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("meetings:remind", args=[team_a.closer_member.pk]))
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "2 post-call form(s)" in mail.outbox[0].subject


def test_the_overdue_page_is_for_managers(client, team_a, outsider):
    client.force_login(team_a.closer)
    assert client.get(reverse("meetings:overdue")).status_code == 403
    remind = reverse("meetings:remind", args=[team_a.closer_member.pk])
    assert client.post(remind).status_code == 403
    client.force_login(team_a.manager)
    assert client.post(reverse("meetings:overdue")).status_code == 405
    assert client.get(remind).status_code == 405
    client.force_login(outsider)
    assert client.post(remind).status_code == 404


def test_the_hourly_digest_sends_one_email_per_rep(
    team_a, django_capture_on_commit_callbacks, settings
):
    from apps.meetings.tasks import pcf_overdue_digests_task

    settings.SITE_URL = "https://app.example.com"

    owed(team_a, days=2)
    owed(team_a, days=3)
    owed(team_a, member=team_a.other_closer_member, days=2)
    with django_capture_on_commit_callbacks(execute=True):
        pcf_overdue_digests_task.delay()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [team_a.closer_member.email, team_a.other_closer_member.email]
    )
    # Sent from beat, outside any request: the links are absolute, on the configured site.
    assert all("https://app.example.com/" in m.body for m in mail.outbox)


def test_suspected_duplicates_are_overlapping_bookings_of_one_contact(client, team_a):
    contact = ContactFactory(org=team_a.org)
    start = timezone.now() - timedelta(days=1)
    a = MeetingFactory(org=team_a.org, contact=contact, scheduled_at=start)
    b = MeetingFactory(org=team_a.org, contact=contact, scheduled_at=start + timedelta(minutes=15))
    MeetingFactory(org=team_a.org, contact=contact, scheduled_at=start + timedelta(hours=3))
    MeetingFactory(org=team_a.org, contact=contact, scheduled_at=start, call_type="triage")
    MeetingFactory(
        org=team_a.org, contact=contact, scheduled_at=start, status=Meeting.Status.CANCELED
    )
    pairs = meeting_suspected_duplicates(org=team_a.org)
    assert [(p.first.pk, p.second.pk) for p in pairs] == [(a.pk, b.pk)]
    client.force_login(team_a.manager)
    assert client.get(reverse("meetings:duplicates")).status_code == 200
    assert client.post(reverse("meetings:duplicates")).status_code == 405
    client.force_login(team_a.viewer)
    assert client.get(reverse("meetings:duplicates")).status_code == 403


# --- call types -------------------------------------------------------------------------------


def test_an_admin_adds_a_rule_and_reclassifies_existing_calls(client, team_a):
    meeting = MeetingFactory(org=team_a.org, event_name="Game plan call", call_type="other")
    client.force_login(team_a.admin)
    assert client.get(reverse("meetings:types")).status_code == 200
    response = client.post(
        reverse("meetings:types"),
        {
            "name_pattern": "game plan",
            "event_type_uri": "",
            "call_type": "solution",
            "priority": 10,
        },
    )
    assert response.status_code == 302
    rule = CallTypeRule.objects.get(org=team_a.org)
    client.post(reverse("meetings:types"), {"reclassify": "1"})
    meeting.refresh_from_db()
    assert meeting.call_type == "solution"
    delete = reverse("meetings:type_delete", args=[rule.pk])
    assert client.get(delete).status_code == 405
    assert client.post(delete).status_code == 302
    assert not CallTypeRule.objects.filter(pk=rule.pk).exists()


def test_a_rule_needs_a_uri_or_a_pattern(client, team_a):
    client.force_login(team_a.admin)
    response = client.post(
        reverse("meetings:types"),
        {"name_pattern": "", "event_type_uri": "", "call_type": "solution", "priority": 10},
    )
    assert response.status_code == 200 and response.context["form"].errors


def test_call_types_are_for_admins_only(client, team_a, outsider):
    rule = CallTypeRule.objects.create(org=team_a.org, name_pattern="x", call_type="triage")
    client.force_login(team_a.manager)
    assert client.get(reverse("meetings:types")).status_code == 403
    assert client.post(reverse("meetings:type_delete", args=[rule.pk])).status_code == 403
    client.force_login(outsider)
    assert client.post(reverse("meetings:type_delete", args=[rule.pk])).status_code == 404
