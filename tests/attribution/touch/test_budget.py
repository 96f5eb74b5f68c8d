"""The seed-003 budget rules, their averages, and the ranking by money at stake."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from attribution.touch.budget import (
    CampaignFigures,
    cac,
    cash_roas,
    cpc,
    cpl,
    ctr,
    recommend,
    roas,
)

D = Decimal


def campaign(name: str, *, spend=1000, revenue=2000, customers=2, impressions=0, clicks=0, days=10):
    return CampaignFigures(
        channel="meta",
        campaign=name,
        spend=D(spend),
        revenue=D(revenue),
        cash=D(revenue) / 2,
        customers=D(customers),
        leads=20,
        impressions=impressions,
        clicks=clicks,
        days_since_first_spend=days,
    )


def _kinds(recommendations) -> list[tuple[str, str]]:
    return [(r.kind, r.campaign) for r in recommendations]


def test_the_ratios_and_none_on_a_zero_denominator() -> None:
    given = campaign(
        "a", spend=500, revenue=2000, customers=D("2.5"), impressions=40_000, clicks=80
    )

    assert roas(given) == 4
    assert cash_roas(given) == 2
    assert cac(given) == 200
    assert cpl(given) == 25
    assert ctr(given) == D("0.002")
    assert cpc(given) == D("6.25")
    empty = replace(given, spend=D(0), customers=D(0), leads=0, impressions=0, clicks=0)
    assert [f(empty) for f in (roas, cash_roas, cac, cpl, ctr, cpc)] == [None] * 6


def test_roas_above_one_and_a_half_times_the_average_means_increase_the_budget() -> None:
    # ROAS 6, 1.5, 1.5: average 3; 6 > 4.5 (at stake 1000 x |6 - 3| / 3), 1.5 < 2.1 twice.
    figures = [
        campaign("star", revenue=6000),
        campaign("dull", revenue=1500),
        campaign("meh", revenue=1500, spend=1000),
    ]

    found = recommend(figures)

    assert _kinds(found) == [
        ("increase_budget", "star"),
        ("reduce_budget", "dull"),
        ("reduce_budget", "meh"),
    ]
    star = found[0]
    assert (star.confidence, star.value, star.average, star.at_stake) == (
        "high",
        6,
        3,
        D("1000.00"),
    )
    assert star.sentence == (
        "meta / star: ROAS 6.00× against an average of 3.00× over 3 campaigns with spend "
        "(above 1.5×): increase the budget."
    )
    assert found[1].confidence == "medium"
    assert found[1].at_stake == D("500.00")  # 1000 x |1.5 - 3| / 3


def test_the_roas_thresholds_are_strict() -> None:
    # ROAS 3, 2, 1: average 2. 3 is exactly 1.5x, 1.4 would be exactly 0.7x.
    exactly = [
        campaign("a", revenue=3000),
        campaign("b", revenue=2000),
        campaign("c", revenue=1000),
    ]
    assert [r.kind for r in recommend(exactly)] == ["reduce_budget"]  # only c: 1 < 1.4

    at_low = [campaign("a", revenue=2600), campaign("b", revenue=2000), campaign("c", revenue=1400)]
    assert recommend(at_low) == []  # average 2: 2.6 < 3 and 1.4 is not below 1.4


def test_campaigns_without_spend_neither_count_in_the_averages_nor_get_advice() -> None:
    figures = [
        campaign("a", revenue=2000),
        campaign("b", revenue=2000),
        campaign("organic", spend=0, revenue=90_000, customers=0, days=400),
    ]

    assert recommend(figures) == []


def test_cac_below_half_the_average_is_efficient_acquisition() -> None:
    # CAC 100, 500, 600 (average 400); the campaign without customers has no CAC to average.
    figures = [
        campaign("cheap", spend=1000, revenue=2000, customers=10),
        campaign("b", spend=1000, revenue=2000, customers=2),
        campaign("c", spend=1200, revenue=2400, customers=2),
        campaign("new", spend=10, revenue=20, customers=0, days=3),
    ]

    found = [r for r in recommend(figures, currency="USD") if r.kind == "efficient_acquisition"]

    assert [(r.campaign, r.value, r.average, r.confidence) for r in found] == [
        ("cheap", 100, 400, "insight")
    ]
    assert found[0].at_stake == D("750.00")  # 1000 x |100 - 400| / 400
    assert found[0].sentence == (
        "meta / cheap: CAC $100.00 is below half the average $400.00: efficient acquisition."
    )


def test_a_ctr_under_half_a_percent_on_more_than_1000_impressions_needs_a_new_creative() -> None:
    figures = [
        campaign("low", impressions=1001, clicks=5),  # 0.4995%
        campaign("few", impressions=1000, clicks=1),  # 0.1% but only 1,000 impressions
        campaign("edge", impressions=2000, clicks=10),  # exactly 0.5%
        campaign("fine", impressions=1000, clicks=100),
    ]

    found = recommend(figures)

    assert _kinds(found) == [("refresh_creative", "low")]
    assert found[0].sentence == (
        "meta / low: CTR 0.50% on 1,001 impressions is under 0.5%: refresh the creative."
    )
    assert found[0].numbers["impressions"] == 1001


def test_spend_and_no_credited_conversion_after_30_days_needs_a_review() -> None:
    figures = [
        campaign("a"),
        campaign("b"),
        campaign("stale", spend=700, revenue=0, customers=0, days=30),
        campaign("young", spend=700, revenue=0, customers=0, days=29),
    ]

    reviews = [r for r in recommend(figures, currency="EUR") if r.kind == "review"]

    assert [(r.campaign, r.at_stake) for r in reviews] == [("stale", D("700.00"))]
    assert reviews[0].sentence == (
        "meta / stale: €700.00 spent over 30 days and no credited conversion: review it."
    )


def test_recommendations_are_ranked_by_the_money_at_stake() -> None:
    figures = [
        campaign("small-star", spend=100, revenue=1000),  # ROAS 10
        campaign("big-dud", spend=5000, revenue=2500, days=60),  # ROAS 0.5
        campaign("mid", spend=1000, revenue=3000),  # ROAS 3
        campaign("silent", spend=2000, revenue=0, customers=0, days=45),  # ROAS 0
    ]

    found = recommend(figures)

    stakes = [r.at_stake for r in found]
    assert stakes == sorted(stakes, reverse=True)
    # average ROAS (10 + 0.5 + 3 + 0) / 4 = 3.375; big-dud: 5000 x 2.875 / 3.375
    assert found[0].at_stake == D("4259.26")
    # silent: ROAS 0 and no conversion put its whole spend at stake twice; rule order breaks it
    assert _kinds(found)[:3] == [
        ("reduce_budget", "big-dud"),
        ("reduce_budget", "silent"),
        ("review", "silent"),
    ]
    assert ("increase_budget", "small-star") in _kinds(found)
