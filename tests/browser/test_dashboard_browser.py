"""Acceptance 5: in a real browser, filters change the cards and charts in place (no page load)
and the URL carries them."""

from datetime import timedelta

import pytest

from apps.kpis.selectors import month_bounds
from apps.kpis.services import rollup_rebuild
from tests.apps.kpis.helpers import call, lead, paid, past_month, won


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_manager_filters_the_dashboard_in_place(live_server, team_a, signed_in):
    org = team_a.org
    older, _ = past_month(2)
    newer, _ = past_month(1)
    # One deal in the older month, three in the newer; only one of those is the other closer's.
    for month, deals in ((older, 1), (newer, 3)):
        for i in range(deals):
            closer = team_a.other_closer_member if i == 2 else team_a.closer_member
            contact = lead(org, month + timedelta(days=i))
            meeting = call(org, contact, month + timedelta(days=i), "solution", closer=closer)
            won(org, contact, month + timedelta(days=i), 1000, meeting=meeting, closer=closer)
            paid(org, contact, month + timedelta(days=i), 400, closer=closer)
    rollup_rebuild(org=org)

    page = signed_in(team_a.manager)
    page.goto(f"{live_server.url}/dashboard/?month={older:%Y-%m}")
    page.wait_for_function("() => document.getElementById('chart-funnel').data !== undefined")
    page.evaluate("() => { window.__noReload = 'still here'; }")

    def card(name):
        return page.locator(f'[data-kpi="{name}"] p').inner_text()

    def funnel_won():
        return page.evaluate("() => document.getElementById('chart-funnel').data[0].x.at(-1)")

    # Charts draw as they scroll in; a swap may replace the element between polls, so each poll
    # looks the chart up afresh instead of holding on to a node that may be gone.
    funnel_drawn_with = """(won) => {
        const el = document.getElementById('chart-funnel');
        if (!el) return false;
        el.scrollIntoView();
        return el.data?.[0]?.x.at(-1) === won;
    }"""

    # Plotly's toolbar covered chart titles on a phone: the charts are drawn without it.
    assert page.locator("#chart-funnel .modebar-btn").count() == 0
    page.click('[data-section="funnel"] > summary')  # deals won is in the funnel's section
    assert card("deals_won") == "1"
    assert funnel_won() == 1

    page.fill('input[name="month"]', f"{newer:%Y-%m}")
    page.dispatch_event('input[name="month"]', "change")
    first, last = month_bounds(newer)
    page.wait_for_selector(f'#dashboard-body[data-period="{first}..{last}"]')
    page.wait_for_function(funnel_drawn_with, arg=3)
    assert card("deals_won") == "3"
    assert f"month={newer:%Y-%m}" in page.url

    page.select_option('select[name="closer"]', str(team_a.other_closer_member.pk))
    page.wait_for_function(
        "() => document.querySelector('[data-kpi=\"deals_won\"] p').innerText === '1'"
    )
    page.wait_for_function(funnel_drawn_with, arg=1)
    assert card("leads") == "—"  # leads are not split by rep
    assert f"closer={team_a.other_closer_member.pk}" in page.url
    assert f"month={newer:%Y-%m}" in page.url
    # The same window object all along: no full page load happened.
    assert page.evaluate("() => window.__noReload") == "still here"
