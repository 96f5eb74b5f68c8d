from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from attribution.sources import typeform
from attribution.sources.records import ParseError, UnsupportedEvent
from tests.attribution.sources.conftest import load_fixture


def test_it_parses_a_form_response_webhook() -> None:
    response = typeform.parse_webhook(load_fixture("typeform/form_response"))

    assert response.form_id == "SaMpLe1"
    assert response.token == "tok000097165"
    assert response.idempotency_key == "tok000097165"
    assert response.event_id == "EVtok000097165"
    assert response.landed_at == datetime(2026, 3, 1, 3, 27, tzinfo=UTC)
    assert response.submitted_at == datetime(2026, 3, 1, 3, 30, tzinfo=UTC)
    assert response.hidden == {"utm_source": "youtube", "utm_medium": "paid", "utm_campaign": "vsl"}
    assert (response.utm.source, response.utm.medium, response.utm.campaign) == (
        "youtube",
        "paid",
        "vsl",
    )
    assert [a.field_ref for a in response.answers] == ["first_name", "last_name", "email", "phone"]
    assert response.answers[0].title == "First name"


def test_it_finds_the_person_by_answer_type_and_field_names() -> None:
    person = typeform.parse_webhook(load_fixture("typeform/form_response")).person

    assert person.source == "typeform"
    assert person.email == "SAMPLE0.PERSON@GMAIL.COM"  # normalising is identity's job
    assert person.phone == "+14155551000"
    assert (person.first_name, person.last_name, person.full_name) == ("Gus", "Marsh0", None)
    assert person.provider_id("typeform_response") == "tok000097165"
    assert person.utm.campaign == "vsl"
    assert person.observed_at == datetime(2026, 3, 1, 3, 30, tzinfo=UTC)


def _form(answers: list[dict], fields: list[dict] | None = None) -> dict:
    return {
        "event_id": "E1",
        "event_type": "form_response",
        "form_response": {
            "form_id": "F1",
            "token": "T1",
            "submitted_at": "2026-03-01T03:30:00Z",
            "definition": {"fields": fields or []},
            "answers": answers,
        },
    }


def _text(field_id: str, ref: str, value: str) -> dict:
    return {
        "type": "text",
        "text": value,
        "field": {"id": field_id, "type": "short_text", "ref": ref},
    }


def test_the_field_mapping_wins_over_the_defaults() -> None:
    body = _form(
        [
            {
                "type": "email",
                "email": "work@acme.test",
                "field": {"id": "a", "type": "email", "ref": "work"},
            },
            {
                "type": "email",
                "email": "me@home.test",
                "field": {"id": "b", "type": "email", "ref": "personal"},
            },
            _text("c", "who", "Ada Lovelace"),
            {
                "type": "phone_number",
                "phone_number": "+441234",
                "field": {"id": "d", "type": "phone_number"},
            },
        ]
    )

    person = typeform.parse_webhook(
        body, field_mapping={"email": "personal", "full_name": "c", "phone": "d"}
    ).person

    assert person.email == "me@home.test"
    assert person.full_name == "Ada Lovelace"
    assert person.phone == "+441234"


def test_a_single_name_question_is_the_full_name() -> None:
    body = _form(
        [_text("x", "q1", "Ada Lovelace"), _text("y", "q2", "Acme Ltd")],
        fields=[{"id": "x", "title": "What's your name?"}, {"id": "y", "title": "Company name"}],
    )

    person = typeform.parse_webhook(body).person

    assert person.full_name == "Ada Lovelace"
    assert person.company == "Acme Ltd"
    assert person.first_name is None


def test_answers_of_other_types_keep_their_values() -> None:
    body = _form(
        [
            {
                "type": "choice",
                "choice": {"label": "Agency"},
                "field": {"id": "1", "type": "multiple_choice"},
            },
            {
                "type": "choices",
                "choices": {"labels": ["A", "B"]},
                "field": {"id": "2", "type": "multiple_choice"},
            },
            {"type": "number", "number": 42, "field": {"id": "3", "type": "number"}},
            {"type": "boolean", "boolean": False, "field": {"id": "4", "type": "yes_no"}},
        ]
    )

    values = [a.value for a in typeform.parse_webhook(body).answers]

    assert values == ["Agency", ("A", "B"), Decimal(42), False]


def test_a_responses_api_item_takes_the_form_id_from_the_caller() -> None:
    item = load_fixture("typeform/form_response")["form_response"]
    del item["form_id"], item["definition"]

    response = typeform.parse_response(item, form_id="SaMpLe1")

    assert response.form_id == "SaMpLe1"
    assert response.person.email == "SAMPLE0.PERSON@GMAIL.COM"
    assert response.event_id is None


@pytest.mark.parametrize("field", ["form_id", "token", "submitted_at"])
def test_it_names_the_missing_field(field: str) -> None:
    body = load_fixture("typeform/form_response")
    del body["form_response"][field]

    with pytest.raises(ParseError, match=f"typeform.form_response.{field}"):
        typeform.parse_webhook(body)


def test_a_body_without_a_form_response_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="form_response"):
        typeform.parse_webhook({"event_id": "E", "event_type": "form_response"})


def test_other_event_types_are_unsupported() -> None:
    with pytest.raises(UnsupportedEvent):
        typeform.parse_webhook({"event_id": "E", "event_type": "form_partial_response"})
