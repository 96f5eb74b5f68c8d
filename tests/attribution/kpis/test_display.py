"""One formatter per unit: money with the currency's symbol and minor units, rates, multiples."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution.kpis.display import (
    CURRENCIES,
    format_change,
    format_money,
    format_multiple,
    format_percent,
    money_label,
)


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (Decimal("12500"), "USD", "$12,500.00"),
        (Decimal("-3943"), "USD", "-$3,943.00"),
        (Decimal("2500.5"), "EUR", "€2,500.50"),
        (Decimal("12500.4"), "JPY", "¥12,500"),
        (Decimal("1.5"), "KWD", "KWD 1.500"),
        (Decimal("10"), "CAD", "CA$10.00"),
        (Decimal("-0.001"), "GBP", "£0.00"),
        (None, "USD", "—"),
    ],
)
def test_money_carries_symbol_and_minor_units(value, currency, shown):
    assert format_money(value, currency) == shown


def test_an_unknown_code_is_shown_by_its_code():
    assert format_money(Decimal("5"), "xyz") == "XYZ 5.00"


def test_every_iso_code_is_three_letters_with_known_minor_units():
    assert len(CURRENCIES) > 150
    assert all(len(c) == 3 and c.isupper() for c in CURRENCIES)
    assert CURRENCIES["JPY"].minor_units == 0 and CURRENCIES["BHD"].minor_units == 3


def test_rates_and_multiples():
    assert format_percent(Decimal("0.75")) == "75.0%"
    assert format_multiple(Decimal("0.68")) == "0.68×"
    assert format_multiple(None) == "—"
    assert money_label("Cash", "USD") == "Cash ($)" and money_label("Cash", "SEK") == "Cash (SEK)"


def test_changes_of_rates_are_points_and_of_money_percent():
    assert format_change(Decimal("0.55"), Decimal("0.50"), unit="percent") == ("+5.0 pts", 1)
    assert format_change(Decimal("90"), Decimal("100"), unit="money") == ("-10.0%", -1)
    assert format_change(5, 5, unit="number") == ("0.0%", 0)
    assert format_change(5, 0, unit="number") is None  # not "Infinity%"
    assert format_change(None, 5, unit="number") is None


@given(
    st.decimals(min_value=-(10**12), max_value=10**12, places=4), st.sampled_from(list(CURRENCIES))
)
def test_money_text_round_trips_to_the_rounded_amount(value, code):
    currency = CURRENCIES[code]
    text = format_money(value, code)
    digits = text.replace(currency.prefix(), "").replace(",", "")
    assert Decimal(digits) == value.quantize(
        Decimal(1).scaleb(-currency.minor_units), "ROUND_HALF_UP"
    )
