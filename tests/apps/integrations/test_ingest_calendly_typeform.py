"""Calendly and Typeform deliveries, end to end: signed POST -> inbox -> task -> rows.

Celery runs eagerly in the test settings, so each delivery is processed as its commit fires.
"""

from __future__ import annotations

import pytest

from apps.contacts.models import Contact, Identifier, SourceRecord, Touchpoint
from apps.integrations.ingest import Outcome, ingest_record, parse_payload
from apps.integrations.models import WebhookEvent
from apps.meetings.models import Meeting
from attribution.sources import calendly
from tests.apps.integrations.webhook_support import deliver, set_secrets
from tests.attribution.sources.conftest import load_fixture

pytestmark = pytest.mark.django_db

OLD = "https://api.calendly.com/scheduled_events/SE00008/invitees/IN00008"
NEW = "https://api.calendly.com/scheduled_events/SE00008R/invitees/RIN00008R"


@pytest.fixture
def org(team_a):
    set_secrets(team_a.org)
    return team_a.org


@pytest.fixture
def send(client, org, django_capture_on_commit_callbacks):
    def _send(provider: str, payload: dict, **kw):
        with django_capture_on_commit_callbacks(execute=True):
            response = deliver(client, provider, org.slug, payload, **kw)
        assert response.status_code == 200, response.content
        return response

    return _send


def _meeting(org, uri) -> Meeting:
    return Meeting.objects.for_org(org).get(provider="calendly", external_id=uri)


def _old_booking() -> dict:
    """The invitee.created of the booking the reschedule replaces (same person, earlier slot)."""
    payload = load_fixture("calendly/invitee.canceled-rescheduled")
    payload["event"] = "invitee.created"
    payload["created_at"] = "2026-03-04T10:00:00.000000Z"
    invitee = payload["payload"]
    invitee.update(
        status="active",
        rescheduled=False,
        new_invitee=None,
        cancellation=None,
        created_at="2026-03-04T10:00:00.000000Z",
        updated_at="2026-03-04T10:00:00.000000Z",
    )
    return payload


# --- Calendly ---------------------------------------------------------------------------------


def test_a_booking_makes_a_contact_and_a_scheduled_meeting(send, org, team_a):
    send("calendly", load_fixture("calendly/invitee.created"))
    meeting = _meeting(org, "https://api.calendly.com/scheduled_events/SE00001/invitees/IN00001")
    assert meeting.status == Meeting.Status.SCHEDULED
    assert meeting.event_name == "Triage Call"
    assert meeting.utm_source == "youtube"
    assert meeting.contact.primary_email == "sample0.person@gmail.com"
    assert Identifier.objects.filter(contact=meeting.contact, kind="phone").exists()
    event = WebhookEvent.objects.get(org=org)
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.attempts == 1 and event.processed_at is not None
    # Provenance: the invitee as Calendly sent it.
    record = SourceRecord.objects.get(org=org, provider="calendly")
    assert record.payload["email"] == "sample0.person@gmail.com"


def test_a_cancellation_cancels_the_meeting(send, org):
    cancel = load_fixture("calendly/invitee.canceled")
    booking = load_fixture("calendly/invitee.canceled")
    booking["event"] = "invitee.created"
    booking["payload"].update(status="active", cancellation=None)
    send("calendly", booking)
    send("calendly", cancel)
    meeting = _meeting(org, cancel["payload"]["uri"])
    assert meeting.status == Meeting.Status.CANCELED
    assert meeting.cancel_reason == "conflict"
    assert Meeting.objects.for_org(org).count() == 1


def test_a_cancellation_before_its_booking_is_kept_and_the_late_booking_does_not_revive_it(
    send, org
):
    cancel = load_fixture("calendly/invitee.canceled")
    booking = load_fixture("calendly/invitee.canceled")
    booking["event"] = "invitee.created"
    booking["payload"].update(status="active", cancellation=None)
    send("calendly", cancel)
    send("calendly", booking)
    assert _meeting(org, cancel["payload"]["uri"]).status == Meeting.Status.CANCELED


@pytest.mark.parametrize(
    "order",
    [
        ("old", "new", "cancel"),
        ("old", "cancel", "new"),
        ("cancel", "new", "old"),
        ("new", "cancel", "old"),
        ("new", "old", "cancel"),
        ("new", "cancel"),
        ("cancel", "new"),
    ],
    ids="-".join,
)
def test_a_reschedule_in_any_order_leaves_the_new_meeting_booked_and_the_old_rescheduled(
    send, org, order
):
    """Acceptance 4."""
    payloads = {
        "old": _old_booking(),
        "cancel": load_fixture("calendly/invitee.canceled-rescheduled"),
        "new": load_fixture("calendly/invitee.created-rescheduled"),
    }
    for name in order:
        send("calendly", payloads[name])
    old, new = _meeting(org, OLD), _meeting(org, NEW)
    assert new.status == Meeting.Status.SCHEDULED
    assert old.status == Meeting.Status.RESCHEDULED
    assert old.rescheduled_to == new
    assert Meeting.objects.for_org(org).count() == 2
    assert Meeting.objects.for_org(org).exclude(status=Meeting.Status.RESCHEDULED).count() == 1
    assert old.contact == new.contact
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED).count() == len(order)


def test_a_no_show_mark_and_its_removal(send, org):
    marked = load_fixture("calendly/invitee_no_show.created")
    uri = marked["payload"]["uri"]
    send("calendly", marked)
    meeting = _meeting(org, uri)
    assert meeting.no_show_marked_at is not None
    assert meeting.status == Meeting.Status.NO_SHOW and meeting.showed is False
    cleared = load_fixture("calendly/invitee_no_show.created")
    cleared["event"] = "invitee_no_show.deleted"
    cleared["created_at"] = "2026-03-31T18:00:00.000000Z"  # after the mark
    cleared["payload"]["no_show"] = None
    send("calendly", cleared)
    meeting.refresh_from_db()
    assert meeting.no_show_marked_at is None
    assert meeting.status != Meeting.Status.NO_SHOW


def test_a_bare_no_show_body_marks_the_meeting_without_inventing_a_contact(send, org):
    booking = load_fixture("calendly/invitee_no_show.created")
    booking["event"] = "invitee.created"
    send("calendly", booking)
    uri = booking["payload"]["uri"]
    contacts = Contact.objects.for_org(org).count()
    send(
        "calendly",
        {
            "event": "invitee_no_show.created",
            "created_at": "2026-03-30T20:05:00.000000Z",
            "payload": {
                "uri": "https://api.calendly.com/invitee_no_shows/NS1",
                "invitee": uri,
                "created_at": "2026-03-30T20:05:00.000000Z",
            },
        },
    )
    assert _meeting(org, uri).no_show_marked_at is not None
    assert Contact.objects.for_org(org).count() == contacts


def test_the_same_invitee_event_twice_is_unchanged_the_second_time(org):
    event = calendly.parse_webhook(load_fixture("calendly/invitee.created"))
    assert ingest_record(org=org, record=event, via="webhook") is Outcome.CREATED
    assert ingest_record(org=org, record=event, via="sync") is Outcome.UNCHANGED
    assert Meeting.objects.for_org(org).count() == 1
    assert Contact.objects.for_org(org).count() == 1


def test_a_cancellation_of_a_known_invitee_is_an_update(org):
    booking = load_fixture("calendly/invitee.canceled")
    booking["event"] = "invitee.created"
    booking["payload"].update(status="active", cancellation=None)
    ingest_record(org=org, record=calendly.parse_webhook(booking), via="webhook")
    cancel = calendly.parse_webhook(load_fixture("calendly/invitee.canceled"))
    assert ingest_record(org=org, record=cancel, via="webhook") is Outcome.UPDATED


def test_via_must_say_which_path(org):
    event = calendly.parse_webhook(load_fixture("calendly/invitee.created"))
    with pytest.raises(ValueError, match="via"):
        ingest_record(org=org, record=event, via="carrier-pigeon")


# --- Typeform ---------------------------------------------------------------------------------


def test_a_form_response_makes_a_contact_and_a_touchpoint_with_its_utms(send, org):
    send("typeform", load_fixture("typeform/form_response"))
    contact = Contact.objects.for_org(org).get()
    assert contact.primary_email == "sample0.person@gmail.com"
    assert (contact.first_name, contact.last_name) == ("Gus", "Marsh")
    assert contact.original_source == "youtube"
    touchpoint = Touchpoint.objects.for_org(org).get()
    assert touchpoint.contact == contact
    assert touchpoint.kind == "form"
    assert (touchpoint.utm_source, touchpoint.utm_medium, touchpoint.utm_campaign) == (
        "youtube",
        "paid",
        "vsl",
    )
    assert touchpoint.source_record.external_id == "tok000097165"


def test_a_form_response_and_a_booking_of_the_same_person_are_one_contact(send, org):
    send("typeform", load_fixture("typeform/form_response"))
    send("calendly", load_fixture("calendly/invitee.created"))
    assert Contact.objects.for_org(org).count() == 1
    assert Meeting.objects.for_org(org).get().contact == Contact.objects.for_org(org).get()


def test_the_same_response_from_the_webhook_and_the_sync_is_one_touchpoint(org):
    response = parse_payload(
        org=org, provider="typeform", envelope=load_fixture("typeform/form_response")
    )
    assert ingest_record(org=org, record=response, via="webhook") is Outcome.CREATED
    assert ingest_record(org=org, record=response, via="sync") is Outcome.UNCHANGED
    assert Touchpoint.objects.for_org(org).count() == 1


def _unlabelled_form() -> dict:
    """A form whose refs say nothing: two email answers and a text answer."""
    payload = load_fixture("typeform/form_response")
    response = payload["form_response"]
    response["definition"]["fields"] = [
        {"id": "q1", "ref": "q1", "type": "email", "title": "Your partner's email"},
        {"id": "q2", "ref": "q2", "type": "email", "title": "Your email"},
        {"id": "q3", "ref": "q3", "type": "short_text", "title": "What should we call you?"},
    ]
    response["answers"] = [
        {"type": "email", "email": "partner.kim@gmail.com", "field": {"id": "q1", "ref": "q1"}},
        {"type": "email", "email": "ines.rao@gmail.com", "field": {"id": "q2", "ref": "q2"}},
        {"type": "text", "text": "Ines", "field": {"id": "q3", "ref": "q3", "type": "short_text"}},
    ]
    return payload


def test_without_a_mapping_the_first_email_answer_is_the_persons(send, org):
    send("typeform", _unlabelled_form())
    assert Contact.objects.for_org(org).get().primary_email == "partner.kim@gmail.com"


def test_the_orgs_per_form_mapping_chooses_the_answers(send, org):
    org.settings = {"typeform_field_mapping": {"SaMpLe1": {"email": "q2", "first_name": "q3"}}}
    org.save()
    send("typeform", _unlabelled_form())
    contact = Contact.objects.for_org(org).get()
    assert contact.primary_email == "ines.rao@gmail.com"
    assert contact.first_name == "Ines"


def test_a_mapping_for_another_form_does_not_apply(send, org):
    org.settings = {"typeform_field_mapping": {"OtherForm": {"email": "q2"}}}
    org.save()
    send("typeform", _unlabelled_form())
    assert Contact.objects.for_org(org).get().primary_email == "partner.kim@gmail.com"
