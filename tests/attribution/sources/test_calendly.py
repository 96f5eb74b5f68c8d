from __future__ import annotations

from datetime import UTC, datetime

import pytest

from attribution.sources import calendly
from attribution.sources.records import ParseError, UnsupportedEvent
from tests.attribution.sources.conftest import load_fixture


def test_it_parses_an_invitee_created_webhook() -> None:
    event = calendly.parse_webhook(load_fixture("calendly/invitee.created"))

    assert event.kind == "created"
    assert event.invitee_uri == "https://api.calendly.com/scheduled_events/SE00001/invitees/IN00001"
    assert event.event_uri == "https://api.calendly.com/scheduled_events/SE00001"
    assert event.event_type_uri == "https://api.calendly.com/event_types/ETTRIAGE"
    assert event.event_name == "Triage Call"
    assert event.start_time == datetime(2026, 3, 3, 16, 0, tzinfo=UTC)
    assert event.end_time == datetime(2026, 3, 3, 16, 45, tzinfo=UTC)
    assert event.host_emails == ("fran.setter@sample-team.test",)
    assert event.host_user_uris == ("https://api.calendly.com/users/U57966254",)
    assert event.status == "active"
    assert event.rescheduled is False
    assert event.cancellation is None
    assert event.no_show is None
    assert event.utm.source == "youtube"
    assert event.utm.campaign == "vsl"
    assert event.utm.content is None
    assert event.questions_and_answers[0].question == "Phone number"
    assert event.occurred_at == datetime(2026, 3, 1, 4, 30, tzinfo=UTC)


def test_it_emits_the_invitee_as_a_person_observation() -> None:
    person = calendly.parse_webhook(load_fixture("calendly/invitee.created")).person

    assert person.source == "calendly"
    assert person.email == "sample0.person@gmail.com"
    assert person.phone == "+14155551000"  # from the phone question
    assert (person.first_name, person.last_name, person.full_name) == (
        "Gus",
        "Marsh0",
        "Gus Marsh0",
    )
    assert person.utm.medium == "paid"
    assert person.provider_id("calendly_invitee").endswith("/IN00001")
    assert person.observed_at.tzinfo is UTC


def test_it_parses_a_cancellation() -> None:
    event = calendly.parse_webhook(load_fixture("calendly/invitee.canceled"))

    assert event.kind == "canceled"
    assert event.status == "canceled"
    assert event.cancellation == calendly.Cancellation(
        canceled_by="Ivo", canceler_type="invitee", reason="conflict"
    )
    assert not event.is_reschedule_cancellation


def test_the_two_halves_of_a_reschedule_point_at_each_other() -> None:
    old = calendly.parse_webhook(load_fixture("calendly/invitee.canceled-rescheduled"))
    new = calendly.parse_webhook(load_fixture("calendly/invitee.created-rescheduled"))

    assert old.is_reschedule_cancellation
    assert old.rescheduled is True
    assert old.new_invitee_uri == new.invitee_uri
    assert new.is_reschedule_booking
    assert new.old_invitee_uri == old.invitee_uri
    assert new.start_time == datetime(2026, 3, 8, 18, 0, tzinfo=UTC)
    assert old.idempotency_key != new.idempotency_key


def test_a_reschedule_cancellation_is_recognised_by_new_invitee_alone() -> None:
    body = load_fixture("calendly/invitee.canceled-rescheduled")
    body["payload"]["rescheduled"] = False

    assert calendly.parse_webhook(body).is_reschedule_cancellation


def test_it_parses_a_no_show_shaped_as_an_invitee() -> None:
    event = calendly.parse_webhook(load_fixture("calendly/invitee_no_show.created"))

    assert event.kind == "no_show_created"
    assert event.no_show == calendly.NoShowMark(
        uri="https://api.calendly.com/invitee_no_shows/NS00004",
        created_at=datetime(2026, 3, 31, 17, 0, tzinfo=UTC),
    )
    assert event.host_emails == ("eric.closer@sample-team.test",)
    assert event.event_name == "Solution Call"


def test_it_accepts_the_bare_no_show_body() -> None:
    body = {
        "event": "invitee_no_show.created",
        "created_at": "2026-03-31T17:00:01.000000Z",
        "payload": {
            "uri": "https://api.calendly.com/invitee_no_shows/NS9",
            "invitee": "https://api.calendly.com/scheduled_events/SE9/invitees/IN9",
            "created_at": "2026-03-31T17:00:00.000000Z",
        },
    }
    event = calendly.parse_webhook(body)

    assert event.kind == "no_show_created"
    assert event.invitee_uri == "https://api.calendly.com/scheduled_events/SE9/invitees/IN9"
    assert event.no_show is not None
    assert event.no_show.uri == "https://api.calendly.com/invitee_no_shows/NS9"
    assert event.no_show.created_at == datetime(2026, 3, 31, 17, 0, tzinfo=UTC)
    assert event.person.provider_id("calendly_invitee") == event.invitee_uri
    assert event.person.emails == ()


def test_it_accepts_a_bare_no_show_deletion() -> None:
    body = {
        "event": "invitee_no_show.deleted",
        "payload": {
            "uri": "u",
            "invitee": "https://x/invitees/IN9",
            "created_at": "2026-03-31T17:00:00Z",
        },
    }

    assert calendly.parse_webhook(body).kind == "no_show_deleted"


def test_a_retried_delivery_has_the_same_idempotency_key() -> None:
    first = calendly.parse_webhook(load_fixture("calendly/invitee.created"))
    retry = calendly.parse_webhook(load_fixture("calendly/invitee.created"))

    assert first.idempotency_key == retry.idempotency_key
    assert len(first.idempotency_key) == 64


def test_the_idempotency_key_tells_events_and_changes_apart() -> None:
    created = load_fixture("calendly/invitee.created")
    canceled = load_fixture("calendly/invitee.created")
    canceled["event"] = "invitee.canceled"
    updated = load_fixture("calendly/invitee.created")
    updated["payload"]["updated_at"] = "2026-03-02T10:00:00.000000Z"

    keys = {calendly.parse_webhook(body).idempotency_key for body in (created, canceled, updated)}
    assert len(keys) == 3


def test_it_parses_a_list_api_invitee_with_its_scheduled_event() -> None:
    body = load_fixture("calendly/invitee.created")["payload"]
    scheduled_event = body.pop("scheduled_event")
    body["event"] = scheduled_event["uri"]

    event = calendly.parse_invitee(body, scheduled_event=scheduled_event)

    assert event.kind == "created"
    assert event.event_uri == scheduled_event["uri"]
    assert event.host_emails == ("fran.setter@sample-team.test",)
    assert event.occurred_at == datetime(2026, 3, 1, 4, 30, tzinfo=UTC)


def test_a_list_api_invitee_without_its_event_keeps_the_event_uri() -> None:
    body = load_fixture("calendly/invitee.created")["payload"]
    body["event"] = body.pop("scheduled_event")["uri"]

    event = calendly.parse_invitee(body)

    assert event.event_uri == "https://api.calendly.com/scheduled_events/SE00001"
    assert event.start_time is None


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("event"), "calendly.event"),
        (lambda b: b.pop("payload"), "calendly.payload"),
        (lambda b: b["payload"].pop("uri"), "calendly.payload.uri"),
        (lambda b: b["payload"].pop("scheduled_event"), "calendly.payload.scheduled_event.uri"),
    ],
)
def test_it_names_the_missing_field(mutate, field: str) -> None:
    body = load_fixture("calendly/invitee.created")
    mutate(body)

    with pytest.raises(ParseError, match=field.replace(".", r"\.")):
        calendly.parse_webhook(body)


def test_a_bad_start_time_is_a_parse_error() -> None:
    body = load_fixture("calendly/invitee.created")
    body["payload"]["scheduled_event"]["start_time"] = "tomorrow-ish"

    with pytest.raises(ParseError, match="start_time"):
        calendly.parse_webhook(body)


def test_an_event_type_we_do_not_handle_is_unsupported_not_malformed() -> None:
    body = load_fixture("calendly/invitee.created")
    body["event"] = "routing_form_submission.created"

    with pytest.raises(UnsupportedEvent) as excinfo:
        calendly.parse_webhook(body)
    assert not isinstance(excinfo.value, ParseError)
    assert excinfo.value.event_type == "routing_form_submission.created"


def test_times_with_offsets_become_utc() -> None:
    body = load_fixture("calendly/invitee.created")
    body["payload"]["scheduled_event"]["start_time"] = "2026-03-03T11:00:00-05:00"

    assert calendly.parse_webhook(body).start_time == datetime(2026, 3, 3, 16, 0, tzinfo=UTC)
