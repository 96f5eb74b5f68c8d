"""attribution.payouts: commission maths, rule choice and summaries, exact in Decimal."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution.payouts import (
    LineFacts,
    Rule,
    commission,
    money_sum,
    percent_for,
    summarise,
    summary_to_json,
)

cents = st.integers(min_value=-10_000_000, max_value=10_000_000).map(lambda c: Decimal(c) / 100)


@given(st.lists(st.sampled_from([Decimal("0.10"), Decimal("0.20")]), max_size=500))
def test_money_sum_of_dimes_is_exact(values):
    assert money_sum(values) == Decimal(sum(int(v * 100) for v in values)) / 100


def test_money_sum_refuses_floats():
    with pytest.raises(TypeError):
        money_sum([Decimal("0.10"), 0.2])


@pytest.mark.parametrize(
    ("net", "percent", "expected"),
    [
        ("1000.00", "10", "100.00"),
        ("333.33", "15", "50.00"),  # 49.9995 rounds half up
        ("0.10", "5", "0.01"),  # 0.005 rounds up, not to even
        ("-250.00", "5", "-12.50"),  # a clawback
        ("100.00", "0", "0.00"),
    ],
)
def test_commission_rounds_half_up_to_the_cent(net, percent, expected):
    assert commission(Decimal(net), Decimal(percent)) == Decimal(expected)


@given(cents, st.integers(min_value=0, max_value=10000).map(lambda p: Decimal(p) / 100))
def test_a_clawback_is_exactly_the_negative_of_the_commission(net, percent):
    assert commission(-net, percent) == -commission(net, percent)


def test_a_product_rule_beats_the_blanket_rule_of_the_same_member_and_role():
    rules = [
        Rule(member=1, role="closer", percent=Decimal("10")),
        Rule(member=1, role="closer", percent=Decimal("15"), product="vip"),
        Rule(member=1, role="setter", percent=Decimal("3")),
        Rule(member=2, role="closer", percent=Decimal("20"), product="vip"),
    ]
    assert percent_for(rules, member=1, role="closer", product="vip") == Decimal("15")
    assert percent_for(rules, member=1, role="closer", product="basic") == Decimal("10")
    assert percent_for(rules, member=1, role="setter", product="vip") == Decimal("3")
    assert percent_for(rules, member=2, role="closer", product="basic") is None
    assert percent_for(rules, member=3, role="closer") is None


def test_summaries_count_each_payment_once_and_keep_currencies_apart():
    def line(role, member, net, comm, currency="USD", source="fb", adj=False):
        return LineFacts(
            currency, role, member, f"m{member}", source, Decimal(net), Decimal(comm), adj
        )

    lines = [
        line("closer", 1, "100.00", "10.00"),
        line("setter", 2, "100.00", "5.00"),
        line("closer", 1, "50.00", "5.00", source="google"),
        line("setter", None, "50.00", "0.00", source="google"),
        line("closer", 1, "-20.00", "-2.00", adj=True),
        line("setter", 2, "-20.00", "-1.00", adj=True),
        line("closer", 1, "80.00", "8.00", currency="EUR"),
    ]
    out = summary_to_json(summarise(lines))
    assert sorted(out) == ["EUR", "USD"]
    usd = out["USD"]
    assert usd["totals"] == {
        "net": "130.00",
        "commission": "17.00",
        "adjustments": "-20.00",
        "payments": 2,
    }
    assert usd["closers"] == [
        {"member": 1, "name": "m1", "net": "130.00", "commission": "13.00", "lines": 3}
    ]
    assert {r["source"]: (r["net"], r["commission"]) for r in usd["sources"]} == {
        "fb": ("80.00", "12.00"),
        "google": ("50.00", "5.00"),
    }
    assert out["EUR"]["totals"]["net"] == "80.00"
