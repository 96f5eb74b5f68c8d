"""Survivorship: which source wins each field as observations arrive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import reduce

from hypothesis import given
from hypothesis import strategies as st

from attribution.identity.survivorship import ContactFields, FieldObservation, survive

T0 = datetime(2025, 3, 1, tzinfo=UTC)

TYPEFORM = FieldObservation(
    source="typeform",
    observed_at=T0,
    full_name="jane doe",
    emails=("Jane@Acme.io",),
    phones=("(415) 555-0132",),
    utm_source="facebook",
    utm_campaign="webinar_mar",
    utm_medium="cpc",
)
CLOSE = FieldObservation(
    source="close",
    observed_at=T0 + timedelta(days=1),
    first_name="Jane",
    last_name="Doe-Smith",
    emails=("jane.doe@gmail.com",),
    phones=("+44 20 7946 0958",),
    lead_status="Qualified",
)
STRIPE = FieldObservation(
    source="stripe",
    observed_at=T0 + timedelta(days=3),
    full_name="J Doe",
    emails=("billing@acme.io",),
    utm_source="google",
)


def fold_all(*observations: FieldObservation) -> ContactFields:
    return reduce(survive, observations, None)  # type: ignore[arg-type]


def test_close_wins_the_name_over_earlier_and_later_sources() -> None:
    contact = fold_all(TYPEFORM, CLOSE, STRIPE)
    assert (contact.first_name, contact.last_name, contact.name_source) == (
        "Jane",
        "Doe-Smith",
        "close",
    )


def test_a_non_crm_source_only_fills_a_blank_name() -> None:
    contact = fold_all(TYPEFORM, STRIPE)
    assert (contact.first_name, contact.last_name) == ("jane", "doe")


def test_only_close_sets_the_lead_status_and_the_latest_one_wins() -> None:
    later = FieldObservation(source="close", observed_at=T0 + timedelta(days=9), lead_status="Won")
    stale = FieldObservation(source="close", observed_at=T0, lead_status="New")
    contact = fold_all(CLOSE, later, stale, FieldObservation(source="typeform", lead_status="X"))
    assert contact.lead_status == "Won"


def test_the_earliest_touch_wins_the_original_source_and_all_utms_together() -> None:
    contact = fold_all(STRIPE, CLOSE, TYPEFORM)
    assert contact.original_source == "typeform"
    assert contact.first_seen_at == T0
    assert (contact.utm_source, contact.utm_medium, contact.utm_campaign) == (
        "facebook",
        "cpc",
        "webinar_mar",
    )


def test_every_email_and_phone_is_kept_and_close_has_the_primary_email() -> None:
    contact = fold_all(TYPEFORM, CLOSE, STRIPE)
    assert contact.emails == ("jane@acme.io", "jane.doe@gmail.com", "billing@acme.io")
    assert contact.phones == ("+14155550132", "+442079460958")
    assert contact.primary_email == "jane.doe@gmail.com"
    assert contact.primary_phone == "+442079460958"


def test_the_primary_email_is_the_first_personal_one_without_close() -> None:
    role_first = FieldObservation(source="whop", observed_at=T0, emails=("info@acme.io",))
    contact = fold_all(role_first, TYPEFORM)
    assert contact.primary_email == "jane@acme.io"
    assert contact.emails == ("info@acme.io", "jane@acme.io")


observation = st.builds(
    FieldObservation,
    source=st.sampled_from(["typeform", "calendly", "close", "stripe", "whop"]),
    observed_at=st.one_of(st.none(), st.integers(0, 1000).map(lambda h: T0 + timedelta(hours=h))),
    full_name=st.one_of(st.none(), st.sampled_from(["Jane Doe", "Bob Smith", "", "😀"])),
    emails=st.lists(
        st.sampled_from(["a@x.io", "info@x.io", "junk", "b@gmail.com"]), max_size=2
    ).map(tuple),
    phones=st.lists(st.sampled_from(["+14155550132", "020 7946 0958", "nope"]), max_size=2).map(
        tuple
    ),
    lead_status=st.one_of(st.none(), st.sampled_from(["New", "Won"])),
    utm_source=st.one_of(st.none(), st.sampled_from(["google", "facebook"])),
)


@given(st.one_of(st.none(), observation.map(lambda o: survive(None, o))), observation)
def test_applying_an_observation_twice_changes_nothing(
    current: ContactFields | None, incoming: FieldObservation
) -> None:
    once = survive(current, incoming)
    assert survive(once, incoming) == once


@given(st.lists(observation, min_size=1, max_size=6))
def test_first_seen_is_the_earliest_dated_observation_in_any_order(
    observations: list[FieldObservation],
) -> None:
    contact = fold_all(*observations)
    dated = [o.observed_at for o in observations if o.observed_at is not None]
    if dated:
        assert contact.first_seen_at == min(dated)
    assert reduce(survive, reversed(observations), None).first_seen_at == contact.first_seen_at  # type: ignore[arg-type, union-attr]
