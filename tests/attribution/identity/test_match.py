"""Match decisions: given a profile of a known person, when a record arrives, then the outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.identity.match import (
    Outcome,
    PersonRecord,
    Profile,
    blocking_keys,
    decide,
    may_match_by_name,
    profile_from_records,
    profile_of_known,
    record_keys,
)

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)


def person(record_id: str = "r", **fields: object) -> PersonRecord:
    return PersonRecord(record_id=record_id, **fields)  # type: ignore[arg-type]


def known(*records: PersonRecord) -> Profile:
    return profile_from_records(records)


JANE = person(
    "known",
    source="typeform",
    email="jane.doe@acme.io",
    phone="+1 415 555 0132",
    first_name="Jane",
    last_name="Doe",
    company="Acme Inc",
    created_at=T0,
    utm_campaign="webinar_mar",
)


def test_it_matches_the_same_email_in_another_case_and_with_spaces() -> None:
    decision = decide(record_keys(person(email="  JANE.DOE@acme.io ")), known(JANE))
    assert decision.outcome is Outcome.MATCH
    assert decision.reasons == ("same email",)


def test_it_matches_the_same_phone_written_another_way() -> None:
    record = person(phone="(415) 555-0132 ext. 4", first_name="Jane", last_name="Doe")
    decision = decide(record_keys(record), known(JANE))
    assert decision.outcome is Outcome.MATCH
    assert "same phone +14155550132" in decision.reasons


def test_it_never_merges_two_different_emails() -> None:
    # Even beside the same phone and name: a work and a personal address, or two people at one
    # phone; DESIGN leaves two emails to an admin.
    record = person(
        email="jane.personal@gmail.com", phone="415-555-0132", first_name="Jane", last_name="Doe"
    )
    decision = decide(record_keys(record), known(JANE))
    assert decision.outcome is Outcome.REVIEW
    assert decision.by_identifier
    assert any("different emails" in reason for reason in decision.reasons)


def test_a_second_email_beside_the_same_phone_without_a_name_goes_to_review() -> None:
    record = person(email="jane.personal@gmail.com", phone="415-555-0132")
    decision = decide(record_keys(record), known(JANE))
    assert decision.outcome is Outcome.REVIEW
    assert any("different emails" in reason for reason in decision.reasons)


def test_two_different_emails_with_only_a_corroborated_name_never_match() -> None:
    record = person(
        email="jane.personal@gmail.com",
        first_name="Jane",
        last_name="Doe",
        company="Acme",
        created_at=T0,
        utm_campaign="webinar_mar",
    )
    decision = decide(record_keys(record), known(JANE))
    assert decision.outcome is Outcome.REVIEW
    assert decision.conflicts == ("email",)


def test_it_never_merges_two_different_emails_even_with_the_same_provider_id() -> None:
    crm = person("known", email="a@acme.io", provider_ids=(("close_lead", "lead_1"),))
    record = person(email="b@acme.io", provider_ids=(("close_lead", "lead_1"),))
    assert decide(record_keys(record), known(crm)).outcome is Outcome.REVIEW


def test_it_matches_on_a_provider_id() -> None:
    crm = person("known", first_name="Jane", provider_ids=(("stripe_customer", "cus_1"),))
    record = person(email="jane@acme.io", provider_ids=(("stripe_customer", "cus_1"),))
    decision = decide(record_keys(record), known(crm))
    assert decision.outcome is Outcome.MATCH
    assert "same stripe_customer cus_1" in decision.reasons


def test_a_shared_phone_is_not_evidence() -> None:
    record = person(phone="+14155550132", first_name="Jane", last_name="Doe")
    decision = decide(record_keys(record), known(JANE), shared=frozenset({"+14155550132"}))
    assert decision.outcome is not Outcome.MATCH


def test_a_shared_email_is_not_evidence() -> None:
    record = person(email="jane.doe@acme.io")
    decision = decide(record_keys(record), known(JANE), shared=frozenset({"jane.doe@acme.io"}))
    assert decision.outcome is Outcome.NO_MATCH


def test_a_role_inbox_is_not_evidence() -> None:
    office = person("known", email="info@acme.io", first_name="Jane", last_name="Doe")
    record = person(email="info@acme.io", first_name="Mark", last_name="Twain")
    assert decide(record_keys(record), known(office)).outcome is Outcome.NO_MATCH


def test_a_placeholder_email_is_not_evidence() -> None:
    someone = person("known", email="test@test.com", first_name="Jane", last_name="Doe")
    record = person(email="test@test.com", first_name="Mark", last_name="Twain")
    assert decide(record_keys(record), known(someone)).outcome is Outcome.NO_MATCH


def test_a_shared_landline_with_only_a_first_name_that_differs_goes_to_review() -> None:
    office = known(person("known", phone="+44 20 7946 0958", full_name="Jack Khan"))
    record = person(phone="020 7946 0958", country="GB", first_name="Sandra")
    decision = decide(record_keys(record), office)
    assert decision.outcome is Outcome.REVIEW
    assert "but different names (first or last name)" in decision.reasons


def test_a_switchboard_without_a_name_goes_to_review_and_a_mobile_matches() -> None:
    office = known(person("known", phone="+1 212 555 0100", full_name="Jack Khan"))
    by_switchboard = person(phone="+1 212 555 0100 ext. 45", company="Acme")
    decision = decide(record_keys(by_switchboard), office)
    assert decision.outcome is Outcome.REVIEW
    assert decision.reasons[-1] == "a landline or switchboard, without an agreeing name"
    assert decide(record_keys(person(phone="(212) 555-0100")), office).outcome is Outcome.MATCH


def test_the_same_phone_with_a_plainly_different_name_goes_to_review() -> None:
    # A couple at one home phone: same surname, different first names.
    record = person(phone="+14155550132", first_name="Mark", last_name="Doe")
    assert decide(record_keys(record), known(JANE)).outcome is Outcome.REVIEW


def test_a_namesake_with_nothing_else_in_common_stays_separate() -> None:
    record = person(
        email="jane.doe77@gmail.com",
        first_name="Jane",
        last_name="Doe",
        created_at=T0 + timedelta(days=40),
    )
    decision = decide(
        record_keys(record), known(person("known", first_name="Jane", last_name="Doe"))
    )
    assert decision.outcome is Outcome.NO_MATCH


def test_a_nickname_with_the_same_company_matches() -> None:
    bob = person("known", first_name="Robert", last_name="Smith", company="Globex Corp")
    record = person(full_name="Bob Smith", company="Globex")
    decision = decide(record_keys(record), known(bob))
    assert decision.outcome is Outcome.MATCH
    assert decision.reasons[0].startswith("name jw=1.00 + same company")


def test_swapped_names_with_the_same_work_domain_match() -> None:
    record = person(full_name="Doe Jane", email="jd@acme.io")
    known_jane = known(person("known", first_name="Jane", last_name="Doe", email="info@acme.io"))
    assert decide(record_keys(record), known_jane).outcome is Outcome.MATCH


def test_a_free_email_domain_does_not_corroborate_a_name() -> None:
    known_jane = known(person("known", first_name="Jane", last_name="Doe", email="jd1@gmail.com"))
    record = person(first_name="Jane", last_name="Doe", email="info@gmail.com")
    assert decide(record_keys(record), known_jane).outcome is Outcome.NO_MATCH


def test_campaign_and_time_lift_a_name_to_review_never_to_a_match() -> None:
    record = person(
        first_name="Jane",
        last_name="Doe",
        utm_campaign="webinar_mar",
        created_at=T0 + timedelta(hours=5),
    )
    decision = decide(record_keys(record), known(JANE))
    assert decision.outcome is Outcome.REVIEW
    assert decision.reasons == ("name jw=1.00 + same campaign + seen within 72h",)


def test_a_conflicting_phone_vetoes_a_name_with_campaign_and_time() -> None:
    # The commonest false merge: two John Smiths, one without an email, each with his own
    # mobile, through the same campaign in the same week.
    known_john = known(
        person("known", email="john.smith@gmail.com", phone="+1 415 555 0132",
               full_name="John Smith", utm_campaign="webinar_mar", created_at=T0)
    )  # fmt: skip
    record = person(
        phone="+44 7911 123456",
        full_name="John Smith",
        utm_campaign="webinar_mar",
        created_at=T0 + timedelta(hours=2),
    )
    decision = decide(record_keys(record), known_john)
    assert decision.outcome is Outcome.NO_MATCH
    assert decision.conflicts == ("phone",)
    dots = "\u2022" * 8
    assert decision.reasons == (f"conflicting phone: +44{dots}56 vs +1{dots}32",)
    # The numbers themselves are not spelled out: reasons are shown in admin.
    assert "7911123456" not in decision.reasons[0] and "5550132" not in decision.reasons[0]


def test_a_conflicting_phone_leaves_a_strongly_corroborated_name_to_an_admin() -> None:
    bob = known(person("known", phone="+1 415 555 0132", full_name="Bob Smith", company="Globex"))
    record = person(phone="+1 212 555 0199", full_name="Robert Smith", company="Globex Inc")
    decision = decide(record_keys(record), bob)
    assert decision.outcome is Outcome.REVIEW
    assert "phone" in decision.conflicts
    assert any(reason.startswith("conflicting phone: +1") for reason in decision.reasons)


def test_a_different_landline_is_no_veto_but_leaves_the_name_to_an_admin() -> None:
    # A desk or a household line: someone has one besides their mobile, and so may a namesake.
    bob = known(person("known", phone="+44 7911 123456", full_name="Bob Smith", company="Globex"))
    record = person(phone="+44 20 7946 0958", full_name="Robert Smith", company="Globex")
    decision = decide(record_keys(record), bob)
    assert decision.outcome is Outcome.REVIEW
    assert decision.conflicts == ()
    assert decision.reasons[-1] == "but a different landline or switchboard"


def test_a_conflicting_provider_id_vetoes_a_name_match() -> None:
    crm = known(person("known", full_name="Jane Doe", company="Acme",
                       provider_ids=(("close_lead", "lead_1"),)))  # fmt: skip
    record = person(full_name="Jane Doe", provider_ids=(("close_lead", "lead_2"),),
                    utm_campaign="x", created_at=T0)  # fmt: skip
    crm = Profile(**{**{f: getattr(crm, f) for f in crm.__slots__}, "campaigns": frozenset({"x"}),
                     "timestamps": (T0,)})  # fmt: skip
    decision = decide(record_keys(record), crm)
    assert decision.outcome is Outcome.NO_MATCH
    assert decision.reasons == ("conflicting close_lead",)


def test_the_same_phone_still_matches_whatever_the_campaign() -> None:
    record = person(phone="+14155550132", full_name="Jane Doe", utm_campaign="other")
    decision = decide(record_keys(record), known(JANE))
    assert decision.outcome is Outcome.MATCH
    assert decision.conflicts == ()


def test_a_placeholder_email_is_no_conflict_and_no_evidence() -> None:
    record = person(email="test@test.com", phone="+14155550132", full_name="Jane Doe")
    decision = decide(record_keys(record), known(JANE))
    assert decision.outcome is Outcome.MATCH
    assert decision.conflicts == ()
    assert "a second email" not in decision.reasons


def test_a_name_with_only_one_weak_corroboration_goes_to_review() -> None:
    record = person(first_name="Jane", last_name="Doe", created_at=T0 + timedelta(hours=5))
    decision = decide(record_keys(record), known(JANE))
    assert decision.outcome is Outcome.REVIEW
    assert "seen within 72h" in decision.reasons[0]


def test_a_corroborated_name_with_a_different_email_goes_to_review() -> None:
    record = person(first_name="Jane", last_name="Doe", email="jane@gmail.com", company="Acme")
    assert decide(record_keys(record), known(JANE)).outcome is Outcome.REVIEW


def test_gmail_dots_and_plus_tags_match_with_a_corroborating_name() -> None:
    gmail_jane = known(person("known", email="jane.doe@gmail.com", full_name="Jane Doe"))
    record = person(email="JaneDoe+stripe@googlemail.com", full_name="Jane Doe")
    decision = decide(record_keys(record), gmail_jane)
    assert decision.outcome is Outcome.MATCH
    assert "same mailbox janedoe@gmail.com (dots/+tag)" in decision.reasons


def test_gmail_dots_and_plus_tags_without_a_name_go_to_review() -> None:
    gmail_jane = known(person("known", email="jane.doe@gmail.com", full_name="Jane Doe"))
    record = person(email="janedoe+stripe@gmail.com")
    assert decide(record_keys(record), gmail_jane).outcome is Outcome.REVIEW


def test_nothing_in_common_is_no_match() -> None:
    record = person(email="mark@twain.org", first_name="Mark", last_name="Twain")
    assert decide(record_keys(record), known(JANE)).outcome is Outcome.NO_MATCH


def test_a_decision_on_an_empty_record_is_no_match() -> None:
    assert decide(record_keys(person()), known(JANE)).outcome is Outcome.NO_MATCH


@given(
    st.dictionaries(
        st.sampled_from(
            ["email", "phone", "first_name", "last_name", "full_name", "company", "country",
             "created_at", "utm_campaign", "provider_ids"]
        ),
        st.one_of(st.none(), st.text(max_size=30), st.integers(), st.lists(st.text(max_size=5))),
    )
)  # fmt: skip
def test_deciding_on_any_input_dict_never_raises(data: dict[str, object]) -> None:
    record = PersonRecord.from_dict({"record_id": "x", **data})
    keys = record_keys(record)
    decision = decide(keys, known(JANE))
    assert 0.0 <= decision.score <= 1.0 and decision.reasons
    blocking_keys(keys)


def test_from_dict_reads_timestamps_and_provider_ids() -> None:
    record = PersonRecord.from_dict(
        {
            "record_id": 7,
            "created_at": "2025-03-01T12:00:00Z",
            "provider_ids": [["close_lead", "lead_x"], ["stripe_customer", "cus_1"]],
            "email": None,
        }
    )
    assert record.record_id == "7"
    assert record.created_at == T0
    assert record.provider_ids == (("close_lead", "lead_x"), ("stripe_customer", "cus_1"))


def test_blocking_keys_put_name_variants_in_one_block() -> None:
    a = blocking_keys(record_keys(person(first_name="Robert", last_name="Smith")))
    b = blocking_keys(record_keys(person(full_name="Smith Bob")))
    assert set(a) & set(b)


def test_blocking_keys_leave_out_shared_values() -> None:
    keys = record_keys(person(email="jane@acme.io", phone="+14155550132"))
    assert "p:+14155550132" not in blocking_keys(keys, shared=frozenset({"+14155550132"}))


EMAILS = ["jane@acme.io", "info@acme.io", "j.doe+x@gmail.com", "test@example.com", "bob@globex.com"]
PHONES = ["+14155550132", "+442079460958", "+33142685300"]


@given(
    st.sampled_from(["Jane", "Bob", "", "Dr. José", "Mary Ann"]),
    st.sampled_from(["Doe", "", "Garcia Marquez"]),
    st.sampled_from(["", "Acme Inc", "N/A"]),
    st.sampled_from(["", "Webinar_Mar"]),
    st.one_of(st.none(), st.just(T0)),
    st.lists(st.sampled_from(EMAILS), unique=True, max_size=3),
    st.lists(st.sampled_from(PHONES), unique=True, max_size=3),
    st.lists(
        st.sampled_from([("close_lead", "lead_1"), ("calendly_invitee", "inv_9")]), unique=True
    ),
)
def test_a_stored_persons_profile_is_the_profile_of_their_records(
    first, last, company, campaign, seen_at, emails, phones, provider_ids
) -> None:
    # As the resolver stored them: one record per email and phone, the name on the first.
    base = {"company": company or None, "utm_campaign": campaign or None, "created_at": seen_at}
    records = [
        person(
            **base,
            email=emails[0] if emails else None,
            phone=phones[0] if phones else None,
            first_name=first or None,
            last_name=last or None,
            provider_ids=tuple(provider_ids),
        )
    ]
    records += [person(**base, email=e) for e in emails[1:]]
    records += [person(**base, phone=p) for p in phones[1:]]
    assert profile_of_known(
        first_name=first,
        last_name=last,
        company=company,
        campaign=campaign,
        seen_at=seen_at,
        emails=emails,
        phones=phones,
        provider_ids=provider_ids,
    ) == profile_from_records(records)


FIRST_NAMES = ["Jane", "Jean", "Bob", "Doe"]
LAST_NAMES = ["Doe", "Dow", "Dough", "Jane"]
RECORD_EMAILS = [None, "jane@acme.io", "jane.doe+x@gmail.com", "info@globex.com", "a@a.com"]
STORED_EMAILS = [*EMAILS, "janed@gmail.com", "jane.doe@acme.io", "jane@globex.com"]


@given(
    record=st.fixed_dictionaries(
        {
            "first_name": st.sampled_from(FIRST_NAMES),
            "last_name": st.sampled_from(LAST_NAMES),
            "company": st.sampled_from([None, "Acme Inc", "Globex"]),
            "utm_campaign": st.sampled_from([None, "webinar_mar", "spring"]),
            "created_at": st.sampled_from([None, T0, T0 + timedelta(days=30)]),
            "email": st.sampled_from(RECORD_EMAILS),
            "phone": st.sampled_from([None, *PHONES]),
            "provider_ids": st.sampled_from([(), (("close_lead", "lead_1"),)]),
        }
    ),
    first=st.sampled_from(FIRST_NAMES),
    last=st.sampled_from(LAST_NAMES),
    company=st.sampled_from(["", "Acme Inc", "Globex LLC"]),
    campaign=st.sampled_from(["", "Webinar_Mar", "fall"]),
    seen_at=st.sampled_from([None, T0, T0 + timedelta(hours=50), T0 + timedelta(days=9)]),
    emails=st.lists(st.sampled_from(STORED_EMAILS), unique=True, max_size=3),
    phones=st.lists(st.sampled_from(PHONES), unique=True, max_size=2),
    provider_ids=st.lists(
        st.sampled_from([("close_lead", "lead_1"), ("close_lead", "lead_2")]), unique=True
    ),
    shared=st.sets(st.sampled_from(["jane@acme.io", "+14155550132", "close_lead:lead_1"])),
)
@settings(max_examples=600)
def test_a_namesake_ruled_out_by_name_is_no_match_whatever_its_identifiers(
    record, first, last, company, campaign, seen_at, emails, phones, provider_ids, shared
) -> None:
    keys = record_keys(person(**record))
    # A stored contact holding one of the record's own values is found by that value, never
    # as a namesake: only the others are what the resolver skips reading.
    own = {keys.e164, *keys.provider_ids}
    if keys.email is not None:
        own |= {keys.email.value, keys.email.canonical}
    emails = [e for e in emails if not {e, record_keys(person(email=e)).email.canonical} & own]
    phones = [p for p in phones if p not in own]
    provider_ids = [i for i in provider_ids if i not in own]
    face = {
        "first_name": first,
        "last_name": last,
        "company": company,
        "campaign": campaign,
        "seen_at": seen_at,
    }
    namesake = profile_of_known(**face, emails=emails, phones=phones, provider_ids=provider_ids)
    if not may_match_by_name(keys, **face):
        assert decide(keys, namesake, shared=frozenset(shared)).outcome is Outcome.NO_MATCH


def test_a_namesake_at_the_records_work_domain_may_match_before_its_emails_are_read() -> None:
    keys = record_keys(person(email="jane@acme.io", first_name="Jane", last_name="Doe"))
    assert may_match_by_name(
        keys, first_name="Jane", last_name="Doe", company="", campaign="", seen_at=None
    )
    with_emails = profile_of_known(
        first_name="Jane", last_name="Doe", company="", campaign="", seen_at=None,
        emails=["j.doe@acme.io"], phones=(), provider_ids=(),
    )  # fmt: skip
    assert decide(keys, with_emails).outcome is not Outcome.NO_MATCH


def test_a_namesake_whose_name_is_corroborated_may_match_and_one_with_another_name_may_not() -> (
    None
):
    keys = record_keys(person(first_name="Jane", last_name="Doe", utm_campaign="fall"))
    face = {"company": "", "campaign": "fall", "seen_at": None}
    assert may_match_by_name(keys, first_name="Jane", last_name="Doe", **face)
    assert not may_match_by_name(
        keys, first_name="Jane", last_name="Doe", **{**face, "campaign": ""}
    )
    assert not may_match_by_name(keys, first_name="Mary", last_name="Doe", **face)
