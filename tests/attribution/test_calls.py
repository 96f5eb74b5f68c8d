"""attribution.calls: call types, KPIS.md "Showed", credit and PCF custom fields (no database)."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution.calls import (
    CallTypeRuleSpec,
    CustomFieldSpec,
    RosterEntry,
    classify_call_type,
    credit_for_meeting,
    match_roster_name,
    parse_custom_field_specs,
    resolve_showed,
    setter_name_from_booking,
    validate_custom_fields,
)

# --- call types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Triage Call", "triage"),
        ("Free Discovery Session", "triage"),
        ("Intro call (15 min)", "triage"),
        ("Qualification", "triage"),
        ("Strategy Session", "solution"),
        ("Closing call", "solution"),
        ("Product demo", "solution"),
        ("Enrollment", "solution"),
        ("SOLUTION CALL", "solution"),
        ("Coffee chat", "other"),
        ("", "other"),
        (None, "other"),
    ],
)
def test_it_classifies_by_default_words(name, expected):
    assert classify_call_type(name, None, []) == expected


def test_the_earliest_default_word_in_the_name_decides():
    assert classify_call_type("Demo after the intro", None, []) == "solution"
    assert classify_call_type("Intro before the demo", None, []) == "triage"


def test_an_org_rule_beats_the_defaults_and_a_uri_rule_beats_a_pattern_at_equal_priority():
    uri = "https://api.calendly.com/event_types/ET1"
    rules = [
        CallTypeRuleSpec(call_type="other", name_pattern="strategy", priority=100),
        CallTypeRuleSpec(call_type="triage", event_type_uri=uri, priority=100),
    ]
    assert classify_call_type("Strategy Session", uri, rules) == "triage"
    assert classify_call_type("Strategy Session", "https://x/other", rules) == "other"


def test_a_lower_priority_number_runs_first():
    rules = [
        CallTypeRuleSpec(call_type="solution", name_pattern="call", priority=50),
        CallTypeRuleSpec(call_type="triage", name_pattern="call", priority=10),
    ]
    assert classify_call_type("Booking call", None, rules) == "triage"


@given(st.text(max_size=40))
def test_classification_always_answers_a_known_type(name):
    assert classify_call_type(name, None, []) in ("triage", "solution", "other")


# --- showed -----------------------------------------------------------------------------------


def _showed(**overrides):
    values = {
        "pcf_lead_showed": None,
        "crm_outcome": None,
        "canceled": False,
        "assume_show_without_outcome": True,
    }
    values.update(overrides)
    return resolve_showed(**values)


def test_the_pcf_wins_over_everything():
    assert _showed(pcf_lead_showed=True, crm_outcome="no_show", canceled=True) is True
    assert _showed(pcf_lead_showed=False, crm_outcome="showed") is False
    assert _showed(pcf_lead_showed=True, no_show_marked=True) is True


def test_without_a_pcf_the_crm_outcome_decides():
    assert _showed(crm_outcome="showed", canceled=True) is True
    assert _showed(crm_outcome="no_show") is False
    assert _showed(crm_outcome="showed", no_show_marked=True) is True


def test_a_calendly_no_show_mark_counts_as_not_showed():
    assert _showed(no_show_marked=True) is False


def test_without_outcome_a_cancellation_means_not_showed():
    assert _showed(canceled=True) is False


def test_without_anything_the_org_default_decides():
    assert _showed() is True
    assert _showed(assume_show_without_outcome=False) is False


# --- credit -----------------------------------------------------------------------------------


def test_the_host_of_a_triage_call_is_its_setter():
    credit = credit_for_meeting(call_type="triage", host=7, triage_host=9, named_setter=3)
    assert (credit.closer, credit.setter, credit.setter_reason) == (None, 7, "host")


def test_the_host_of_a_solution_call_is_its_closer_and_the_triage_host_its_setter():
    credit = credit_for_meeting(
        call_type="solution", host=1, triage_host=2, named_setter=3, crm_lead_owner=4
    )
    assert (credit.closer, credit.setter, credit.setter_reason) == (1, 2, "triage_host")


def test_without_a_triage_call_the_setter_named_in_the_booking_gets_the_credit():
    credit = credit_for_meeting(call_type="solution", host=1, named_setter=3, crm_lead_owner=4)
    assert (credit.setter, credit.setter_reason) == (3, "booking")


def test_last_the_crm_lead_owner_is_the_setter():
    credit = credit_for_meeting(call_type="solution", host=1, crm_lead_owner=4)
    assert (credit.setter, credit.setter_reason) == (4, "crm_owner")


def test_nobody_to_credit_gives_no_setter():
    credit = credit_for_meeting(call_type="solution", host=None)
    assert (credit.closer, credit.setter, credit.setter_reason) == (None, None, "none")


def test_an_unhosted_solution_call_is_closed_by_the_pcf_author():
    assert credit_for_meeting(call_type="solution", host=None, pcf_author=5).closer == 5


def test_the_setter_is_read_from_the_utm_field_the_org_names():
    name = setter_name_from_booking(
        org_settings={"setter_utm_field": "utm_content"},
        utm={"utm_content": " Sam ", "utm_source": "fb"},
        answers=[],
    )
    assert name == "Sam"


def test_the_setter_is_read_from_the_booking_question_the_org_names():
    name = setter_name_from_booking(
        org_settings={"setter_question": "Who did you speak to?"},
        utm={},
        answers=[("Phone", "+1555"), ("who did you speak to", "Alex Setter")],
    )
    assert name == "Alex Setter"


def test_no_configuration_names_no_setter():
    assert setter_name_from_booking(org_settings={}, utm={"utm_content": "Sam"}, answers=[]) is None


def test_a_named_setter_is_matched_by_email_full_name_or_unique_first_name():
    roster = [
        RosterEntry(key=1, name="Alex Setter", email="alex@x.test"),
        RosterEntry(key=2, name="Sam Jones", email="sam@x.test"),
        RosterEntry(key=3, name="Sam Smith", email="", is_setter=True),
        RosterEntry(key=4, name="Cleo Closer", email="cleo@x.test", is_setter=False),
    ]
    assert match_roster_name("ALEX@x.test", roster) == 1
    assert match_roster_name("sam  jones", roster) == 2
    assert match_roster_name("Alex", roster) == 1
    assert match_roster_name("Sam", roster) is None  # two Sams: not a guess
    assert match_roster_name("Cleo Closer", roster) is None  # not a setter
    assert match_roster_name("", roster) is None


# --- custom fields ----------------------------------------------------------------------------

SPECS = parse_custom_field_specs(
    [
        {"key": "objection", "label": "Objection", "type": "select", "choices": ["price", "time"]},
        {"key": "budget", "label": "Budget", "type": "money", "required": True},
        {"key": "score", "type": "number"},
        {"key": "followup", "label": "Follow-up", "type": "date"},
        {"key": "consent", "label": "Consent", "type": "checkbox", "required": True},
        {"key": "summary", "type": "text"},
    ]
)


def test_valid_custom_values_are_cleaned_to_json_safe_values():
    cleaned, errors = validate_custom_fields(
        SPECS,
        {
            "objection": "price",
            "budget": Decimal("1500"),
            "score": "7.5",
            "followup": date(2026, 4, 1),
            "consent": "on",
            "summary": "  ok ",
            "unknown": "dropped",
        },
    )
    assert errors == {}
    assert cleaned == {
        "objection": "price",
        "budget": "1500.00",
        "score": "7.5",
        "followup": "2026-04-01",
        "consent": True,
        "summary": "ok",
    }


def test_invalid_custom_values_get_one_clear_message_each():
    _, errors = validate_custom_fields(
        SPECS,
        {"objection": "mood", "budget": "-5", "score": "seven", "followup": "next week"},
    )
    assert errors == {
        "objection": "Objection: choose one of price, time.",
        "budget": "Budget cannot be negative.",
        "score": "Score: enter a number.",
        "followup": "Follow-up: enter a date as YYYY-MM-DD.",
        "consent": "Consent must be ticked.",
    }


def test_a_missing_required_field_is_reported():
    _, errors = validate_custom_fields(SPECS, {"consent": True, "budget": " "})
    assert errors == {"budget": "Budget is required."}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"key": "x"}, "must be a list"),
        ([{"key": "Bad Key", "type": "text"}], "lower_snake_case"),
        ([{"key": "a", "type": "colour"}], "type must be one of"),
        ([{"key": "a", "type": "select"}], "needs choices"),
        ([{"key": "a", "type": "text"}, {"key": "a", "type": "text"}], "defined twice"),
    ],
)
def test_a_broken_configuration_is_refused_with_a_reason(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_custom_field_specs(raw)


def test_specs_default_their_label_from_the_key():
    assert parse_custom_field_specs([{"key": "main_goal", "type": "text"}]) == [
        CustomFieldSpec(key="main_goal", label="Main goal", type="text")
    ]
