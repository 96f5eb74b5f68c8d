"""The call lifecycle through meeting_upsert_from_invitee, in every order events arrive."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.meetings.models import Meeting
from apps.meetings.services import (
    MeetingNotYetKnown,
    meeting_mark_no_show,
    meeting_set_crm_outcome,
    meeting_upsert_from_invitee,
    org_recompute_showed,
    pcf_submit,
)
from apps.orgs.models import TeamMember
from tests.apps.meetings.payloads import START, invitee_event, uri
from tests.factories import ContactFactory, MeetingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(team_a):
    return team_a.org


@pytest.fixture
def contact(org):
    return ContactFactory(org=org)


def upsert(org, contact, *args, **kwargs):
    return meeting_upsert_from_invitee(
        org=org, event=invitee_event(*args, **kwargs), contact=contact
    )


def test_a_booking_becomes_a_scheduled_call_with_type_and_host(org, contact, team_a):
    meeting = upsert(org, contact, host_email=team_a.closer_member.email.upper())
    assert meeting.status == Meeting.Status.SCHEDULED
    assert meeting.call_type == "solution"
    assert meeting.host == team_a.closer_member
    assert meeting.closer == team_a.closer_member
    assert meeting.scheduled_at == START
    assert meeting.utm_source == "youtube"
    assert meeting.showed is True  # no outcome yet: the org default


def test_the_same_event_twice_leaves_one_row(org, contact):
    upsert(org, contact)
    upsert(org, contact)
    assert Meeting.objects.for_org(org).count() == 1


def test_canceled_by_the_invitee_is_kept_and_not_showed(org, contact):
    upsert(org, contact)
    meeting = upsert(org, contact, "invitee.canceled", at=START - timedelta(days=1))
    assert meeting.status == Meeting.Status.CANCELED
    assert meeting.canceled_by == "invitee"
    assert meeting.showed is False


def test_canceled_by_the_host(org, contact):
    upsert(org, contact)
    meeting = upsert(org, contact, "invitee.canceled", canceler_type="host")
    assert (meeting.status, meeting.canceled_by) == (Meeting.Status.CANCELED, "host")


def test_a_cancel_before_its_booking_is_kept_and_the_late_booking_does_not_revive_it(org, contact):
    upsert(org, contact, "invitee.canceled", at=START - timedelta(days=1))
    meeting = upsert(org, contact, "invitee.created", at=START - timedelta(days=2))
    assert meeting.status == Meeting.Status.CANCELED
    assert meeting.event_name == "Strategy Session"  # details still filled in
    assert Meeting.objects.for_org(org).count() == 1


def test_a_sync_listing_a_canceled_invitee_as_created_cancels_it(org, contact):
    meeting = upsert(org, contact, "invitee.created", status="canceled")
    assert meeting.status == Meeting.Status.CANCELED


def _reschedule_events():
    later = START + timedelta(days=1)
    return (
        invitee_event("invitee.created", invitee="OLD", event="SEold"),
        invitee_event(
            "invitee.canceled", invitee="OLD", event="SEold", rescheduled=True, new_invitee="NEW"
        ),
        invitee_event(
            "invitee.created", invitee="NEW", event="SEnew", start=later, old_invitee="OLD"
        ),
    )


@pytest.mark.parametrize("order", [(0, 1, 2), (0, 2, 1), (2, 1, 0), (2, 0, 1), (1, 2, 0)])
def test_a_reschedule_links_old_to_new_in_any_order(org, contact, order):
    events = _reschedule_events()
    for index in order:
        meeting_upsert_from_invitee(org=org, event=events[index], contact=contact)
    old = Meeting.objects.get(org=org, external_id=uri("OLD", "SEold"))
    new = Meeting.objects.get(org=org, external_id=uri("NEW", "SEnew"))
    assert old.status == Meeting.Status.RESCHEDULED
    assert old.rescheduled_to == new
    assert new.status == Meeting.Status.SCHEDULED
    assert old.showed is False and new.showed is True  # a reschedule counts once


def test_a_calendly_no_show_is_set_and_cleared(org, contact):
    upsert(org, contact)
    meeting = upsert(
        org,
        contact,
        "invitee_no_show.created",
        at=START + timedelta(hours=1),
        no_show_at=START + timedelta(hours=1),
    )
    assert meeting.status == Meeting.Status.NO_SHOW
    assert meeting.showed is False
    meeting = upsert(org, contact, "invitee_no_show.deleted", at=START + timedelta(hours=2))
    assert meeting.status == Meeting.Status.SCHEDULED
    assert meeting.showed is True


def test_a_no_show_for_an_unknown_invitee_without_booking_details_asks_for_a_retry(org):
    from attribution.sources.calendly import parse_webhook

    event = parse_webhook(
        {
            "event": "invitee_no_show.created",
            "created_at": "2026-03-03T17:00:00Z",
            "payload": {
                "uri": "https://x/ns",
                "invitee": uri("GHOST"),
                "created_at": "2026-03-03T17:00:00Z",
            },
        }
    )
    with pytest.raises(MeetingNotYetKnown):
        meeting_upsert_from_invitee(org=org, event=event, contact=None)


def test_a_no_show_from_the_crm_and_a_pcf_that_overrides_both(org, contact, team_a):
    meeting = upsert(org, contact, host_email=team_a.closer_member.email)
    meeting_set_crm_outcome(meeting=meeting, outcome="no_show")
    assert (meeting.showed, meeting.status) == (False, Meeting.Status.NO_SHOW)
    upsert(org, contact, "invitee_no_show.created", no_show_at=START + timedelta(hours=1))
    pcf_submit(
        org=org,
        meeting=meeting,
        author=team_a.closer_member,
        data={"call_occurred": True, "lead_showed": True},
        actor=team_a.closer,
    )
    meeting.refresh_from_db()
    assert (meeting.showed, meeting.status) == (True, Meeting.Status.COMPLETED)


def test_a_manual_no_show_mark(org, team_a):
    meeting = MeetingFactory(org=org)
    meeting_mark_no_show(meeting=meeting, actor=team_a.manager)
    meeting.refresh_from_db()
    assert meeting.showed is False
    meeting_mark_no_show(meeting=meeting, marked=False, actor=team_a.manager)
    meeting.refresh_from_db()
    assert meeting.showed is True


def test_changing_the_org_default_recomputes_showed(org):
    plain = MeetingFactory(org=org, scheduled_at=timezone.now() - timedelta(days=1))
    with_outcome = MeetingFactory(org=org, crm_outcome="showed", showed=True)
    org.assume_show_without_outcome = False
    org.save()  # the signal enqueues the recompute (eager in tests) on commit
    org_recompute_showed(org=org)
    plain.refresh_from_db()
    with_outcome.refresh_from_db()
    assert plain.showed is False
    assert with_outcome.showed is True


def test_the_org_setting_signal_recomputes_after_commit(org, django_capture_on_commit_callbacks):
    plain = MeetingFactory(org=org)
    with django_capture_on_commit_callbacks(execute=True):
        org.assume_show_without_outcome = False
        org.save()
    plain.refresh_from_db()
    assert plain.showed is False


# --- credit -----------------------------------------------------------------------------------


def test_an_unknown_host_becomes_an_inactive_team_member(org, contact):
    meeting = upsert(org, contact, host_email="new.closer@org-a.example")
    host = TeamMember.objects.get(org=org, email="new.closer@org-a.example")
    assert host.active is False and host.is_closer is True
    assert meeting.closer == host


def test_a_solution_calls_setter_is_the_host_of_the_contacts_triage_call(org, contact, team_a):
    upsert(
        org,
        contact,
        invitee="T",
        event="SET",
        name="Triage Call",
        host_email=team_a.setter_member.email,
        start=START - timedelta(days=2),
    )
    solution = upsert(org, contact, invitee="S", event="SES", host_email=team_a.closer_member.email)
    assert (solution.closer, solution.setter) == (team_a.closer_member, team_a.setter_member)


def test_a_triage_call_arriving_after_the_solution_call_still_credits_its_host(
    org, contact, team_a
):
    solution = upsert(org, contact, invitee="S", event="SES", host_email=team_a.closer_member.email)
    assert solution.setter is None
    upsert(
        org,
        contact,
        invitee="T",
        event="SET",
        name="Triage Call",
        host_email=team_a.setter_member.email,
        start=START - timedelta(days=2),
    )
    solution.refresh_from_db()
    assert solution.setter == team_a.setter_member


def test_without_a_triage_call_the_setter_named_in_the_utm_field(org, contact, team_a):
    org.settings = {"setter_utm_field": "utm_content"}
    org.save()
    meeting = upsert(
        org,
        contact,
        host_email=team_a.closer_member.email,
        tracking={"utm_source": "ig", "utm_content": team_a.setter_member.name},
    )
    assert meeting.setter == team_a.setter_member


def test_without_a_triage_call_the_setter_named_in_a_booking_answer(org, contact, team_a):
    org.settings = {"setter_question": "Who did you speak to?"}
    org.save()
    meeting = upsert(
        org,
        contact,
        host_email=team_a.closer_member.email,
        questions=[
            {
                "question": "Who did you speak to?",
                "answer": team_a.setter_member.email,
                "position": 0,
            }
        ],
    )
    assert meeting.setter == team_a.setter_member


def test_last_the_close_lead_owner_is_the_setter(org, contact, team_a):
    from apps.meetings.services import meeting_assign_credit

    team_a.setter_member.external_ids = {"close": "user_abc"}
    team_a.setter_member.save()
    meeting = upsert(org, contact, host_email=team_a.closer_member.email)
    meeting_assign_credit(meeting=meeting, crm_lead_owner_id="user_abc")
    meeting.refresh_from_db()
    assert meeting.setter == team_a.setter_member
    assert meeting.closer == team_a.closer_member


def test_a_triage_calls_host_is_its_setter_not_its_closer(org, contact, team_a):
    meeting = upsert(org, contact, name="Discovery call", host_email=team_a.setter_member.email)
    assert (meeting.call_type, meeting.setter, meeting.closer) == (
        "triage",
        team_a.setter_member,
        None,
    )
