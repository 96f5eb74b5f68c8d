from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from attribution.sources import close
from attribution.sources.records import ParseError, UnsupportedEvent
from tests.attribution.sources.conftest import load_fixture

OUTCOME_FIELD = close.NoShowRule(custom_field="cf_call_outcome", values=("No Show",))


def test_it_parses_a_contact_created_event() -> None:
    record = close.parse_webhook(load_fixture("close/contact.created"))

    assert isinstance(record, close.LeadOrContact)
    assert record.object_type == "contact"
    assert record.action == "created"
    assert (record.lead_id, record.contact_id) == ("lead_SA0000", "cont_SA0000")
    assert record.event_id == "ev_c0000"
    assert record.occurred_at == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    person = record.person
    assert person.emails == ("sample0.person@gmail.com",)
    assert person.phones == ("+14155551000",)
    assert person.full_name == "Gus Marsh0"
    assert person.provider_id("close_lead") == "lead_SA0000"
    assert person.provider_id("close_contact") == "cont_SA0000"


def test_it_parses_a_lead_with_its_contacts_status_and_owner() -> None:
    body = {
        "event": {
            "id": "ev_l1",
            "object_type": "lead",
            "action": "updated",
            "lead_id": "lead_1",
            "date_created": "2026-03-02T16:00:00.000000",
            "changed_fields": ["status_label"],
            "data": {
                "id": "lead_1",
                "display_name": "Acme Ltd",
                "status_label": "Qualified",
                "custom.cf_owner": "user_setter_1",
                "contacts": [
                    {
                        "id": "cont_1",
                        "name": "Ada Lovelace",
                        "emails": [{"email": "ada@acme.test"}],
                        "phones": [],
                    },
                    {
                        "id": "cont_2",
                        "name": "Bob",
                        "emails": [],
                        "phones": [{"phone": "+4415550000"}],
                    },
                ],
            },
        }
    }

    record = close.parse_webhook(body, lead_owner_field="cf_owner")

    assert isinstance(record, close.LeadOrContact)
    assert record.object_type == "lead"
    assert record.status_label == "Qualified"
    assert record.owner_user_id == "user_setter_1"
    assert record.company == "Acme Ltd"
    assert record.changed_fields == ("status_label",)
    assert [p.provider_id("close_contact") for p in record.contacts] == ["cont_1", "cont_2"]
    assert record.person.email == "ada@acme.test"
    assert record.contacts[1].phone == "+4415550000"
    assert all(p.company == "Acme Ltd" for p in record.contacts)


def test_a_lead_without_contacts_still_yields_a_person() -> None:
    record = close.parse_lead(
        {"id": "lead_9", "display_name": "Solo", "date_created": "2026-03-01T00:00:00+00:00"}
    )

    assert record.person.provider_id("close_lead") == "lead_9"
    assert record.contacts == ()
    assert record.person.observed_at == datetime(2026, 3, 1, tzinfo=UTC)


def test_it_parses_a_won_opportunity_with_its_value_in_cents() -> None:
    record = close.parse_webhook(load_fixture("close/opportunity.updated"))

    assert isinstance(record, close.Opportunity)
    assert record.opportunity_id == "oppo_SA0000"
    assert (record.lead_id, record.contact_id) == ("lead_SA0000", "cont_SA0000")
    assert record.status_type == "won"
    assert record.is_won
    assert record.previous_status_type == "active"
    assert record.value == Decimal("5000.00")
    assert record.currency == "USD"
    assert record.value_period == "one_time"
    assert record.date_won == date(2026, 3, 7)
    assert record.confidence == 100
    assert record.user_id == "user_dana_closer"
    assert record.person.provider_id("close_contact") == "cont_SA0000"


def test_an_opportunity_without_a_value_has_none() -> None:
    body = load_fixture("close/opportunity.updated")
    body["event"]["data"]["value"] = None

    record = close.parse_webhook(body)

    assert isinstance(record, close.Opportunity)
    assert record.value is None


def test_an_opportunity_value_in_yen_is_still_cents() -> None:
    # Close keeps every currency's value in hundredths.
    record = close.parse_opportunity(
        {
            "id": "oppo_1",
            "lead_id": "lead_1",
            "value": 1_000_000,
            "value_currency": "jpy",
            "date_created": "2026-03-01T00:00:00",
        }
    )
    assert (record.value, record.currency) == (Decimal("10000.00"), "JPY")


def test_a_deleted_opportunity_is_read_from_previous_data() -> None:
    body = load_fixture("close/opportunity.updated")
    event = body["event"]
    event["action"] = "deleted"
    event["previous_data"], event["data"] = event["data"], {}

    record = close.parse_webhook(body)

    assert isinstance(record, close.Opportunity)
    assert record.action == "deleted"
    assert not record.is_won


def test_it_parses_a_call_activity() -> None:
    record = close.parse_webhook(
        load_fixture("close/activity.call.created"), no_show_rule=OUTCOME_FIELD
    )

    assert isinstance(record, close.CallActivity)
    assert record.activity_id == "acti_sampleCall0001"
    assert (record.lead_id, record.contact_id, record.user_id) == (
        "lead_sample0004",
        "cont_sample0004",
        "user_eric_closer",
    )
    assert record.date_created == datetime(2026, 3, 9, 15, 50, 2, 120000, tzinfo=UTC)
    assert record.activity_at == datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
    assert record.duration == 0
    assert record.direction == "outbound"
    assert record.disposition == "no-answer"
    assert record.status == "completed"
    assert record.custom == {"cf_call_outcome": "No Show"}
    assert record.note == "Solution call: lead did not join the Zoom"
    assert record.outcome == "no_show"
    assert record.person.phone == "+14155551004"


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (None, "unknown"),
        (close.NoShowRule(custom_field="custom.cf_call_outcome"), "no_show"),
        (close.NoShowRule(custom_field="cf_call_outcome", values=("no show",)), "no_show"),
        (close.NoShowRule(dispositions=("no-answer",)), "no_show"),
        (close.NoShowRule(note_keywords=("did not join",)), "no_show"),
        (close.NoShowRule(note_keywords=("ghosted",)), "unknown"),
        (close.NoShowRule(custom_field="cf_other"), "unknown"),
    ],
)
def test_the_no_show_rule_is_configurable(rule, expected: str) -> None:
    record = close.parse_webhook(load_fixture("close/activity.call.created"), no_show_rule=rule)

    assert isinstance(record, close.CallActivity)
    assert record.outcome == expected


@pytest.mark.parametrize(
    ("rule", "custom", "disposition", "expected"),
    [
        (OUTCOME_FIELD, {"cf_call_outcome": "Showed - Closed"}, None, "showed"),
        (OUTCOME_FIELD, {"cf_call_outcome": ""}, None, "unknown"),
        (OUTCOME_FIELD, {}, "answered", "unknown"),
        (
            close.NoShowRule(custom_field="cf_call_outcome", showed_values=("Held",)),
            {"cf_call_outcome": "Rescheduled"},
            None,
            "unknown",
        ),
        (
            close.NoShowRule(custom_field="cf_call_outcome", showed_values=("Held",)),
            {"cf_call_outcome": "held"},
            None,
            "showed",
        ),
        (
            close.NoShowRule(dispositions=("no-answer",), showed_dispositions=("answered",)),
            {},
            "answered",
            "showed",
        ),
    ],
)
def test_showed_needs_positive_evidence(rule, custom, disposition, expected) -> None:
    assert (
        close.call_outcome(rule=rule, custom=custom, disposition=disposition, note=None) == expected
    )


def test_it_parses_a_lead_merge() -> None:
    body = {
        "event": {
            "id": "ev_m1",
            "object_type": "lead",
            "action": "merged",
            "lead_id": "lead_dest",
            "date_created": "2026-03-05T10:00:00.000000",
            "data": {},
            "meta": {"merge_source_lead_id": "lead_src", "merge_destination_lead_id": "lead_dest"},
        }
    }

    record = close.parse_webhook(body)

    assert record == close.LeadMerged(
        source_lead_id="lead_src",
        destination_lead_id="lead_dest",
        event_id="ev_m1",
        occurred_at=datetime(2026, 3, 5, 10, 0, tzinfo=UTC),
        person=record.person,
    )
    assert record.person.provider_id("close_lead") == "lead_dest"


def test_a_merge_without_its_meta_names_the_missing_field() -> None:
    body = {
        "event": {
            "id": "e",
            "object_type": "lead",
            "action": "merged",
            "date_created": "2026-03-05T10:00:00",
            "meta": {"merge_destination_lead_id": "lead_dest"},
        }
    }

    with pytest.raises(ParseError, match=r"close\.event\.meta\.merge_source_lead_id"):
        close.parse_webhook(body)


@pytest.mark.parametrize("field", ["id", "object_type", "action", "date_created"])
def test_it_names_a_missing_envelope_field(field: str) -> None:
    body = load_fixture("close/activity.call.created")
    del body["event"][field]

    with pytest.raises(ParseError, match=rf"close\.event\.{field}"):
        close.parse_webhook(body)


def test_a_call_without_its_id_names_the_field() -> None:
    body = load_fixture("close/activity.call.created")
    del body["event"]["data"]["id"]

    with pytest.raises(ParseError, match=r"close\.activity\.call\.id"):
        close.parse_webhook(body)


def test_the_lead_id_falls_back_to_the_envelope() -> None:
    body = load_fixture("close/activity.call.created")
    del body["event"]["data"]["lead_id"]

    record = close.parse_webhook(body)

    assert isinstance(record, close.CallActivity)
    assert record.lead_id == "lead_sample0004"


def test_other_object_types_are_unsupported() -> None:
    body = load_fixture("close/contact.created")
    body["event"]["object_type"] = "task"

    with pytest.raises(UnsupportedEvent, match=r"task\.created"):
        close.parse_webhook(body)


def test_a_list_api_call_parses_without_an_envelope() -> None:
    data = load_fixture("close/activity.call.created")["event"]["data"]

    record = close.parse_call(data, no_show_rule=OUTCOME_FIELD)

    assert record.action == "synced"
    assert record.event_id is None
    assert record.outcome == "no_show"
    assert record.person.observed_at == datetime(2026, 3, 9, 15, 50, 2, 120000, tzinfo=UTC)
