"""attribution.sources.clean: provider values made storable, without a database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution.sources import _fields, clean
from attribution.sources.records import ParseError, PersonObservation

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
ANY_TEXT = st.text(st.characters(codec=None) | SURROGATES | st.just("\x00"))


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


# --- clean_text ------------------------------------------------------------------------------


@given(ANY_TEXT, st.none() | st.integers(0, 50))
def test_clean_text_is_always_storable_and_never_longer_than_asked(value, limit):
    cleaned = clean.clean_text(value, limit)
    assert _storable(cleaned)
    if limit is not None:
        assert len(cleaned) <= limit


@given(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00")))
def test_clean_text_leaves_storable_text_as_it_is(value):
    assert clean.clean_text(value) == value


def test_clean_text_strips_nul_and_replaces_each_lone_surrogate():
    assert clean.clean_text("A\x00da \ud800Byrne\udfff") == "Ada \ufffdByrne\ufffd"


# --- load_json / clean_json ------------------------------------------------------------------


def test_load_json_refuses_nesting_past_the_limit_with_a_parse_error():
    deep = b"[" * 10_000 + b"]" * 10_000
    with pytest.raises(ParseError, match=r"nested deeper than 64 levels"):
        clean.load_json(deep)
    with pytest.raises(ParseError, match=r"nested deeper than 64 levels"):
        clean.load_json(b"[" * 65 + b"]" * 65)
    assert clean.load_json(b"[" * 64 + b"]" * 64) is not None


@pytest.mark.parametrize(
    "body", [b"NaN", b"[Infinity]", b"1e400", b"{bad", b"\xff\xfe\xfd", b"18446744073709551616"]
)
def test_load_json_refuses_what_no_json_column_stores(body):
    with pytest.raises(ParseError):
        clean.load_json(body)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**63) | ANY_TEXT,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_clean_json_leaves_no_unstorable_string_anywhere(value):
    def strings(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for key, child in node.items():
                yield key
                yield from strings(child)
        elif isinstance(node, list):
            for child in node:
                yield from strings(child)

    assert all(_storable(text) for text in strings(clean.clean_json(value)))


# --- times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [10**20, 10**12, -1, 1e308, float("inf"), "99999999999999999999", "9999-12-31T23:59:59-05:00"],
)
def test_a_time_outside_1970_to_2200_is_a_parse_error_naming_the_field(value):
    with pytest.raises(ParseError, match=r"stripe\.event\.created"):
        _fields.parse_datetime(value, where="stripe.event.created")


def test_times_inside_the_window_parse_as_before():
    assert _fields.parse_datetime(1772906400, where="t") == datetime(2026, 3, 7, 18, 0, tzinfo=UTC)
    assert _fields.parse_datetime("2026-03-07T13:00:00-05:00", where="t") == datetime(
        2026, 3, 7, 18, 0, tzinfo=UTC
    )


def test_an_amount_that_cannot_be_quantized_is_a_parse_error():
    with pytest.raises(ParseError, match=r"stripe\.charge\.amount"):
        _fields.from_minor_units("1e999999", "USD", where="stripe.charge.amount")
    with pytest.raises(ParseError, match=r"whop\.payment\.total"):
        _fields.from_major_units("9e999999", "USD", where="whop.payment.total")


def test_text_of_a_list_or_object_is_none():
    assert _fields.text(["a@b.co"]) is None
    assert _fields.text({"email": "a@b.co"}) is None
    assert _fields.text(" x\x00 ") == "x"


# --- fit_record ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Payment:
    key: str
    amount: Decimal
    note: str | None
    person: PersonObservation
    minutes: int | None = None


LIMITS = clean.FieldLimits(
    ids={"_Payment.key": 20},
    text={"_Payment.note": 5, "PersonObservation.emails": 10, "PersonObservation.last_name": 3},
    amounts={"_Payment.amount": (6, 2, Decimal(0))},
    formats={"_Payment.note": str.isalpha},
    integers={"_Payment.minutes": (0, 1440)},
)
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _payment(**changes) -> _Payment:
    values = {
        "key": "pay_1",
        "amount": Decimal("9999.99"),
        "note": "short",
        "person": PersonObservation(source="stripe", observed_at=NOW, emails=("a@b.co",)),
        "minutes": 30,
    }
    return _Payment(**{**values, **changes})


def test_fit_record_returns_a_record_that_fits_unchanged():
    record = _payment()
    assert clean.fit_record(record, LIMITS) is record


def test_fit_record_cuts_text_and_hashes_ids_inside_nested_records():
    person = PersonObservation(
        source="stripe", observed_at=NOW, emails=("a@b.co", "long.address@b.co"), last_name="Byrne"
    )
    fitted = clean.fit_record(_payment(key="pay_" + "x" * 40, note="longer", person=person), LIMITS)
    assert fitted.note == "longe"
    assert fitted.key.startswith("sha256:") and len(fitted.key) == 20
    assert fitted.key == clean.fit_record(_payment(key="pay_" + "x" * 40), LIMITS).key
    assert fitted.person.emails == ("a@b.co", "long.addre")
    assert fitted.person.last_name == "Byr"


def test_fit_record_refuses_an_amount_beyond_the_columns_digits():
    with pytest.raises(ParseError, match=r"_Payment.amount is out of range \(at most 4 digits"):
        clean.fit_record(_payment(amount=Decimal("10000.00")), LIMITS)
    # Money is never rounded to fit, nor stored below the column's lowest value.
    with pytest.raises(ParseError, match=r"_Payment\.amount has more than 2 decimal places"):
        clean.fit_record(_payment(amount=Decimal("9999.994")), LIMITS)
    with pytest.raises(ParseError, match=r"_Payment\.amount is below 0"):
        clean.fit_record(_payment(amount=Decimal("-1")), LIMITS)
    assert clean.fit_record(_payment(amount=Decimal("10.430")), LIMITS).amount == Decimal("10.43")


def test_fit_record_refuses_a_value_its_columns_validators_would_refuse():
    with pytest.raises(ParseError, match=r"_Payment\.note is not valid for its column"):
        clean.fit_record(_payment(note="no way"), LIMITS)


def test_fit_record_drops_an_integer_outside_its_column():
    assert clean.fit_record(_payment(minutes=2**40), LIMITS).minutes is None
    assert clean.fit_record(_payment(minutes=-1), LIMITS).minutes is None
