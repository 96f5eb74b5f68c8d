"""Funnel shares: never above 100% of a parent, never a share of nothing."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from attribution.kpis.funnel import funnel_stages

STAGES = (
    ("leads", "Leads"),
    ("triage_booked", "Triage booked"),
    ("triage_attended", "Triage attended"),
    ("solution_booked", "Solution booked"),
    ("solution_attended", "Solution attended"),
    ("deals_won", "Won"),
)


def test_shares_of_the_first_and_previous_stage():
    base = {
        "leads": 100,
        "triage_booked": 80,
        "triage_attended": 60,
        "solution_booked": 40,
        "solution_attended": 30,
        "deals_won": 10,
    }
    stages = funnel_stages(base, STAGES)
    assert [s.count for s in stages] == [100, 80, 60, 40, 30, 10]
    assert stages[0].of_first is None and stages[0].of_previous is None
    assert stages[2].of_first == Decimal("0.6") and stages[2].of_previous == Decimal("0.75")
    assert stages[5].of_previous == Decimal(1) / 3


def test_a_stage_larger_than_its_parent_shows_no_share():
    # 7 calls booked by 1 lead of this period (the others came in last month): not "700%".
    base = {"leads": 1, "triage_booked": 7, "triage_attended": 2, "solution_booked": 3}
    stages = funnel_stages(base, STAGES)
    assert stages[1].of_previous is None and stages[1].of_first is None
    assert stages[3].of_previous is None  # 3 solution calls after 2 triage calls: direct bookings


def test_under_a_rep_filter_the_funnel_starts_at_the_first_stage_with_a_value():
    # Leads have no value under a closer filter: the first stage is not 0 (no "Infinity%").
    base = {"leads": None, "triage_booked": 0, "solution_booked": 4, "solution_attended": 2}
    stages = funnel_stages(base, STAGES)
    assert stages[0].key == "triage_booked"
    assert all(s.of_first is None for s in stages)  # shares of 0 triage bookings: none
    assert stages[-1].of_previous == Decimal("0.5")


@given(st.lists(st.one_of(st.none(), st.integers(0, 10_000)), min_size=6, max_size=6))
def test_no_share_is_ever_above_one(counts):
    base = dict(zip((key for key, _ in STAGES), counts, strict=True))
    for stage in funnel_stages(base, STAGES):
        for share in (stage.of_first, stage.of_previous):
            assert share is None or 0 <= share <= 1
