"""KPIS.md's worked examples, zero denominators, rep filters, and a no-raise property."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution.kpis import (
    BASE_COUNTS,
    EMPTY,
    KPIS,
    KPIS_BY_NAME,
    apply_rep_filter,
    compute_kpis,
    format_kpi,
    hidden_by_rep_filter,
)


def _month() -> dict[str, Decimal | int]:
    # One month: ad spend 5,000; 100 leads; 80 triage booked, 60 attended, 20 cancelled or
    # no-show; 40 solution booked, 30 attended; 10 deals worth 200,000; 100,000 collected.
    return {
        "leads": 100,
        "triage_booked": 80,
        "triage_due": 80,
        "triage_attended": 60,
        "triage_no_show": 10,
        "triage_canceled": 10,
        "solution_booked": 40,
        "solution_due": 40,
        "solution_attended": 30,
        "solution_no_show": 5,
        "solution_canceled": 5,
        "solution_direct_booked": 0,
        "offers_made": 25,
        "deals_won": 10,
        "revenue": Decimal("200000"),
        "cash_collected": Decimal("100000"),
        "refunds": Decimal("0"),
        "ad_spend": Decimal("5000"),
        "pcf_pending": 0,
    }


WORKED_EXAMPLE = {
    "triage_show_rate": "75.0%",
    "triage_to_solution_rate": "66.7%",
    "solution_show_rate": "75.0%",
    "close_rate": "33.3%",
    "lead_to_close_rate": "10.0%",
    "cpl": "50.00",
    "cost_per_solution_booked": "125.00",
    "cash_per_solution_attended": "3,333.33",
    "epc2": "6,666.67",
    "roas": "40.00×",  # KPIS.md writes 4,000%: the same 40, shown as the trade reads ROAS
    "profit_efficiency": "3,900%",
    "avg_contract_value": "20,000.00",
    "calls_to_close": "3.0",
}


@pytest.mark.parametrize(("name", "shown"), WORKED_EXAMPLE.items())
def test_the_monthly_worked_example_comes_out_exactly(name: str, shown: str) -> None:
    values = compute_kpis(_month())

    assert format_kpi(KPIS_BY_NAME[name], values[name]) == shown


def test_rates_are_fractions_and_money_is_decimal() -> None:
    values = compute_kpis(_month())

    assert values["triage_show_rate"] == Decimal("0.75")
    assert values["cpl"] == Decimal("50")
    assert values["roas"] == Decimal("40")
    assert values["profit"] == Decimal("195000")
    assert all(isinstance(v, Decimal) for v in values.values())


def test_the_one_lead_example() -> None:
    # One lead: a form, a triage call attended, a solution call attended, a 10,000 deal with
    # 5,000 paid, spend 200.
    base = dict.fromkeys(BASE_COUNTS, 0) | {
        "leads": 1,
        "triage_booked": 1,
        "triage_due": 1,
        "triage_attended": 1,
        "solution_booked": 1,
        "solution_due": 1,
        "solution_attended": 1,
        "deals_won": 1,
        "revenue": Decimal("10000"),
        "cash_collected": Decimal("5000"),
        "ad_spend": Decimal("200"),
    }

    values = compute_kpis(base)

    for name in (
        "triage_show_rate",
        "solution_show_rate",
        "close_rate",
        "lead_to_close_rate",
        "triage_held_show_rate",
        "solution_held_show_rate",
        "triage_to_solution_rate",
    ):
        assert values[name] == 1, name
    assert format_kpi(KPIS_BY_NAME["close_rate"], values["close_rate"]) == "100.0%"
    assert values["cpl"] == 200
    assert values["cash_per_solution_attended"] == 5000
    assert values["epc2"] == 10000
    assert format_kpi(KPIS_BY_NAME["roas"], values["roas"]) == "50.00×"
    assert format_kpi(KPIS_BY_NAME["cpl"], values["cpl"]) == "200.00"


def test_a_zero_denominator_has_no_value_and_shows_a_dash() -> None:
    base = dict.fromkeys(BASE_COUNTS, 0)

    values = compute_kpis(base)

    assert values["triage_show_rate"] is None
    assert values["cpl"] is None
    assert values["roas"] is None
    assert values["calls_to_close"] is None
    assert values["profit"] == 0  # a difference, not a ratio: always defined
    assert format_kpi(KPIS_BY_NAME["cpl"], None) == EMPTY == "—"


def test_a_zero_numerator_is_zero_not_empty() -> None:
    values = compute_kpis(_month() | {"deals_won": 0})

    assert values["close_rate"] == 0
    assert values["avg_contract_value"] is None


def test_held_show_rate_leaves_cancellations_out() -> None:
    values = compute_kpis(_month())

    assert values["triage_held_show_rate"] == Decimal(60) / Decimal(70)


def test_pcf_completion_counts_due_meetings_that_were_not_cancelled() -> None:
    values = compute_kpis(_month() | {"pcf_pending": 21})

    # due 80 + 40, minus 10 + 5 cancelled = 105 expected; 84 have a PCF.
    assert values["pcf_completion_rate"] == Decimal("0.8")


def test_every_kpi_of_kpis_md_is_defined_once() -> None:
    names = [kpi.name for kpi in KPIS]

    assert len(names) == len(set(names))
    assert {
        "triage_show_rate",
        "triage_no_show_rate",
        "triage_cancel_rate",
        "solution_show_rate",
        "triage_to_solution_rate",
        "direct_booking_rate",
        "offer_rate",
        "close_rate",
        "lead_to_close_rate",
        "cpl",
        "cost_per_triage_booked",
        "cost_per_solution_booked",
        "cost_per_solution_attended",
        "cash_per_solution_booked",
        "cash_per_solution_attended",
        "epc2",
        "profit",
        "profit_per_solution_attended",
        "roas",
        "cash_roas",
        "profit_efficiency",
        "avg_contract_value",
        "avg_cash_per_deal",
        "collection_rate",
        "calls_to_close",
        "pcf_completion_rate",
    } <= set(names)
    assert all(kpi.inputs <= set(BASE_COUNTS) for kpi in KPIS)


def test_the_formula_text_reads_like_kpis_md() -> None:
    assert KPIS_BY_NAME["cpl"].formula == "ad_spend / leads"
    assert KPIS_BY_NAME["profit_efficiency"].formula == "(revenue − ad_spend) / ad_spend"


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("profit", Decimal("-4800"), "-4,800.00"),
        ("profit", Decimal("-0.001"), "0.00"),
        ("cpl", Decimal("0.005"), "0.01"),
        ("triage_show_rate", Decimal("0.00049"), "0.0%"),
        ("roas", Decimal("0.125"), "0.13×"),
        ("roas", Decimal("0.68"), "0.68×"),
        ("calls_to_close", Decimal("2.25"), "2.3"),
    ],
)
def test_formatting_rounds_half_up_and_groups_thousands(
    name: str, value: Decimal, shown: str
) -> None:
    assert format_kpi(KPIS_BY_NAME[name], value) == shown


def test_a_rep_filter_leaves_leads_spend_and_their_kpis_without_a_value() -> None:
    values = compute_kpis(apply_rep_filter(_month(), closer="closer-1", setter=None))

    for name in (
        "cpl",
        "roas",
        "cash_roas",
        "profit",
        "profit_efficiency",
        "lead_to_close_rate",
        "direct_booking_rate",
        "cost_per_solution_booked",
    ):
        assert values[name] is None, name
    assert values["close_rate"] == Decimal(10) / Decimal(30)
    assert values["avg_contract_value"] == 20000


def test_without_a_rep_filter_nothing_is_hidden() -> None:
    assert apply_rep_filter(_month(), closer=None, setter=None) == _month()


def test_hidden_by_rep_filter_lists_exactly_what_is_built_on_leads_or_spend() -> None:
    hidden = hidden_by_rep_filter()

    assert {"leads", "ad_spend", "cpl", "roas", "profit", "lead_to_close_rate"} <= hidden
    assert "close_rate" not in hidden
    values = compute_kpis(apply_rep_filter(_month(), closer=None, setter="setter-1"))
    assert {name for name, v in values.items() if v is None} == hidden - {"leads", "ad_spend"}


def test_a_base_count_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(TypeError, match="leads"):
        compute_kpis(_month() | {"leads": 1.5})


money = st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False)
count = st.integers(min_value=0, max_value=10**9)


@given(
    st.fixed_dictionaries(
        {
            name: (money if name in {"revenue", "cash_collected", "refunds", "ad_spend"} else count)
            for name in BASE_COUNTS
        }
    )
)
def test_no_kpi_raises_for_any_non_negative_base_counts(base: dict) -> None:
    values = compute_kpis(base)

    assert set(values) == {kpi.name for kpi in KPIS}
    for kpi in KPIS:
        value = values[kpi.name]
        assert value is None or value.is_finite()
        shown = format_kpi(kpi, value)
        assert shown == EMPTY or shown[0].isdigit() or shown[0] == "-"
