"""The dashboard a manager reads: headline figures with their change, sections, presets, a funnel
that never shows a share above 100%, one format per unit, and charts that say when they are empty."""

import json
import re
from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse

from apps.kpis.models import AdSpend
from apps.kpis.services import rollup_rebuild
from tests.apps.csv_read import csv_text
from tests.apps.kpis.helpers import call, lead, paid, past_month, won

pytestmark = pytest.mark.django_db


def _figure(page: str, script_id: str) -> dict:
    match = re.search(rf'<script id="{script_id}" type="application/json">(.*?)</script>', page)
    return json.loads(match.group(1)) if match else {}


def _card(page: str, name: str) -> str:
    match = re.search(rf'data-kpi="{name}"[^>]*><h2>[^<]*</h2><p>([^<]*)</p>', page)
    return match.group(1) if match else ""


@pytest.fixture
def two_months(team_a):
    """Last month better than the one before: 2 deals then 1, 4,000 cash then 1,000."""
    org = team_a.org
    older, _ = past_month(2)
    newer, newer_end = past_month(1)
    for month, deals in ((older, 1), (newer, 2)):
        for i in range(deals):
            contact = lead(org, month + timedelta(days=i))
            call(org, contact, month + timedelta(days=i), "triage", setter=team_a.setter_member)
            meeting = call(
                org, contact, month + timedelta(days=i + 1), "solution", closer=team_a.closer_member
            )
            won(org, contact, month + timedelta(days=i + 1), 2500, meeting=meeting)
            paid(org, contact, month + timedelta(days=i + 2), 1000 * (deals + i))
        AdSpend.objects.create(
            org=org, granularity="month", date=month, source="facebook", amount=2000, currency="USD"
        )
    rollup_rebuild(org=org)
    return newer, newer_end


def test_the_headline_shows_six_figures_with_their_change(client, team_a, two_months):
    start, _ = two_months
    client.force_login(team_a.manager)
    page = client.get(reverse("kpis:dashboard"), {"month": f"{start:%Y-%m}"}).content.decode()
    headline = page[
        page.index('id="headline"') : page.index("</section>", page.index('id="headline"'))
    ]
    names = re.findall(r'data-kpi="([a-z0-9_]+)"', headline)
    assert names == ["cash_collected", "revenue", "roas", "solution_show_rate", "close_rate", "cpl"]
    # 1,000 then 2,000 + 3,000: cash up 400%, revenue 2,500 -> 5,000 up 100%.
    assert _card(page, "cash_collected") == "$5,000.00"
    assert "+400.0%" in headline and "+100.0%" in headline
    assert _card(page, "roas") == "2.50×"  # 5,000 revenue on 2,000 spend, a multiple
    assert 'class="change up good"' in headline
    assert "<polyline" in headline  # sparklines, drawn by the server
    # Each figure appears once: what the headline shows is not repeated in the sections.
    assert page.count('data-kpi="cash_collected"') == 1
    assert 'data-section="funnel"' in page and 'data-section="efficiency"' in page


def test_a_cost_going_up_is_marked_bad(client, team_a, two_months):
    start, _ = two_months
    team_a.org.settings = {"dashboard_headline": ["cost_per_solution_attended", "leads", "bogus"]}
    team_a.org.save()
    client.force_login(team_a.manager)
    page = client.get(reverse("kpis:dashboard"), {"month": f"{start:%Y-%m}"}).content.decode()
    headline = page[
        page.index('id="headline"') : page.index("</section>", page.index('id="headline"'))
    ]
    assert re.findall(r'data-kpi="([a-z0-9_]+)"', headline) == [
        "cost_per_solution_attended",
        "leads",
    ]
    # 2,000 per attended call, then 1,000: cost went down, which is good.
    assert 'class="change down good"' in headline


@time_machine.travel("2026-03-04 12:00:00+00:00")
def test_the_default_period_is_month_to_date_compared_with_the_same_days_before(client, team_a):
    client.force_login(team_a.manager)
    page = client.get(reverse("kpis:dashboard")).content.decode()
    assert 'data-period="2026-03-01..2026-03-04"' in page
    assert "compared with 1 Feb 2026 – 4 Feb 2026" in page
    assert '<option value="mtd" selected>' in page


@time_machine.travel("2026-03-04 12:00:00+00:00")
@pytest.mark.parametrize(
    ("preset", "period"),
    [
        ("last_7", "2026-02-26..2026-03-04"),
        ("last_month", "2026-02-01..2026-02-28"),
        ("ytd", "2026-01-01..2026-03-04"),
        ("yesterday", "2026-03-03..2026-03-03"),
    ],
)
def test_presets(client, team_a, preset, period):
    client.force_login(team_a.manager)
    page = client.get(reverse("kpis:dashboard"), {"preset": preset}).content.decode()
    assert f'data-period="{period}"' in page


def test_the_funnel_never_shows_a_stage_above_its_parent(client, team_a):
    """One lead this month; six triage calls of last month's leads: not "600%"."""
    org = team_a.org
    start, _ = past_month(1)
    newcomer = lead(org, start)
    call(org, newcomer, start, "triage")
    for i in range(5):
        earlier = lead(org, start - timedelta(days=40 + i))
        call(org, earlier, start + timedelta(days=i), "triage")
        call(org, earlier, start + timedelta(days=i + 1), "solution", closer=team_a.closer_member)
    rollup_rebuild(org=org)
    client.force_login(team_a.manager)
    page = client.get(reverse("kpis:dashboard"), {"month": f"{start:%Y-%m}"}).content.decode()
    funnel = _figure(page, "fig-funnel")["data"][0]
    assert funnel["x"][:2] == [1, 6]
    shares = [
        float(s.rstrip("%")) for s in re.findall(r"([\d.]+)% of previous", " ".join(funnel["text"]))
    ]
    assert shares and all(share <= 100 for share in shares)
    assert "Infinity" not in page and "600" not in " ".join(funnel["text"])


@pytest.mark.parametrize("role", ["closer", "setter"])
def test_a_reps_funnel_starts_where_their_numbers_start(client, team_a, two_months, role):
    start, _ = two_months
    client.force_login(getattr(team_a, role))
    page = client.get(reverse("kpis:dashboard"), {"month": f"{start:%Y-%m}"}).content.decode()
    funnel = _figure(page, "fig-funnel")
    assert "Leads" not in funnel["data"][0]["y"]  # leads belong to no rep: not a 0 to divide by
    assert "Infinity" not in page and "NaN" not in page


def test_empty_charts_say_so(client, team_a):
    client.force_login(team_a.manager)
    page = client.get(reverse("kpis:dashboard")).content.decode()
    assert "No leads or calls in this period." in page
    assert 'data-figure="fig-funnel"' not in page  # no axes from -1 to 1 over nothing


def test_money_columns_name_their_currency_and_csv_headers_match(client, team_a, two_months):
    start, _ = two_months
    team_a.org.currency = "EUR"
    team_a.org.save()
    client.force_login(team_a.manager)
    params = {"month": f"{start:%Y-%m}"}
    page = client.get(reverse("kpis:dashboard"), params).content.decode()
    assert "Revenue (€)" in page
    assert _card(page, "cash_collected").startswith("€")
    csv = client.get(reverse("kpis:dashboard"), {**params, "format": "csv", "table": "closers"})
    header = csv_text(csv).splitlines()[0]
    assert "Revenue (€)" in header and "Cash (€)" in header


def test_the_dashboard_reads_a_fixed_number_of_queries_with_the_comparison(
    client, team_a, two_months, django_assert_max_num_queries
):
    start, _ = two_months
    client.force_login(team_a.manager)
    with django_assert_max_num_queries(40):
        client.get(reverse("kpis:dashboard"), {"month": f"{start:%Y-%m}"})


@time_machine.travel("2026-03-04 12:00:00+00:00")
def test_a_partial_month_of_spend_is_not_a_loss(client, team_a):
    """Month to date counts the spend of the days so far, not the whole month's."""
    org = team_a.org
    AdSpend.objects.create(
        org=org,
        granularity="month",
        date=date(2026, 3, 1),
        source="fb",
        amount=3100,
        currency="USD",
    )
    rollup_rebuild(org=org)
    client.force_login(team_a.manager)
    page = client.get(reverse("kpis:dashboard")).content.decode()
    assert _card(page, "ad_spend") == "$400.00"  # 4 of March's 31 days, not 3,100
