"""Issue 20, acceptance 4: in a real browser, changing the model and the period swaps the chart
and the tables in place (HTMX, no page load), and the URL reproduces the view."""

from datetime import timedelta

import pytest

from apps.kpis.selectors import month_bounds
from tests.apps.marketing.helpers import journey, past_month, rebuild

CHART_Y = "() => document.getElementById('chart-channels')?.data?.[0]?.y"


def _row(page, channel):
    return page.locator(
        f'table[data-table="channels"] tr:has(td:first-child a:text-is("{channel}"))'
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_manager_changes_model_and_period_in_place(live_server, team_a, signed_in):
    org = team_a.org
    older, _ = past_month(2)
    newer, _ = past_month(1)
    journey(org, older + timedelta(days=5), [("fb", "spring"), ("google", "brand")], cash=1000)
    journey(org, newer + timedelta(days=5), [("tiktok", "ugc")], cash=300)
    rebuild(org)

    page = signed_in(team_a.manager)
    page.goto(f"{live_server.url}/attribution/?month={older:%Y-%m}&model=linear")
    page.locator("#chart-channels").scroll_into_view_if_needed()
    page.wait_for_function(f"() => ({CHART_Y})()?.length === 2")
    page.evaluate("() => { window.__noReload = 'still here'; }")
    assert _row(page, "meta").locator("td").nth(1).inner_text() == "500.00"

    page.select_option('select[name="model"]', "first_touch")
    page.wait_for_selector('#attribution-body[data-model="first_touch"]')
    assert _row(page, "meta").locator("td").nth(1).inner_text() == "1,000.00"
    page.locator("#chart-channels").scroll_into_view_if_needed()
    page.wait_for_function(f"() => ({CHART_Y})()?.[0] === 1000")
    assert "model=first_touch" in page.url

    page.fill('input[name="month"]', f"{newer:%Y-%m}")
    page.dispatch_event('input[name="month"]', "change")
    first, last = month_bounds(newer)
    page.wait_for_selector(f'#attribution-body[data-period="{first}..{last}"]')
    assert _row(page, "tiktok").locator("td").nth(1).inner_text() == "300.00"
    assert page.evaluate("() => window.__noReload") == "still here"  # swapped, not reloaded
    assert f"month={newer:%Y-%m}" in page.url and "model=first_touch" in page.url

    # The URL alone reproduces the view.
    shared = page.url
    other = signed_in(team_a.manager)
    other.goto(shared)
    assert other.locator("#attribution-body").get_attribute("data-model") == "first_touch"
    assert other.locator("#attribution-body").get_attribute("data-period") == f"{first}..{last}"
    assert _row(other, "tiktok").locator("td").nth(1).inner_text() == "300.00"
