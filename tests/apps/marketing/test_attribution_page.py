"""The attribution page and the `attribution` command: the worked checks of ATTRIBUTION.md,
the same numbers in both, money adding up to the period's net cash, roles and tenancy."""

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.kpis.selectors import kpi_summary
from apps.marketing.models import Campaign, CampaignDay
from apps.marketing.selectors import MODEL_NAMES, Query, attribution_report
from tests.apps.csv_read import csv_text
from tests.apps.marketing.helpers import journey, past_month, rebuild
from tests.factories import RefundFactory

pytestmark = pytest.mark.django_db

URL = "/attribution/"


def _command(org, model, start, end, **options) -> dict:
    out = StringIO()
    extra = [f"--{k.replace('_', '-')}={v}" for k, v in options.items()]
    call_command(
        "attribution", org.slug, f"--model={model}", f"--start={start}", f"--end={end}",
        *extra, stdout=out,
    )  # fmt: skip
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1, "exactly one JSON object"
    return json.loads(lines[0])


@pytest.fixture
def worked(team_a):
    """ATTRIBUTION.md: a 30,000 deal with touches C1, C2, C3 one day apart, won on C3's day."""
    org = team_a.org
    first, last = past_month(2)
    day = first + timedelta(days=10)
    journey(org, day, [("c1", "w"), ("c2", "w"), ("c3", "w")], value=30000)
    rebuild(org)
    return org, first, last


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("linear", {"c1": "10000.00", "c2": "10000.00", "c3": "10000.00"}),
        ("first_touch", {"c1": "30000.00"}),
        ("last_touch", {"c3": "30000.00"}),
        ("position_based", {"c1": "12000.00", "c2": "6000.00", "c3": "12000.00"}),
    ],
)
def test_the_worked_checks_through_the_command(worked, model, expected):
    org, first, last = worked
    out = _command(org, model, first, last, value="revenue")
    assert out["model"] == model and out["value"] == "revenue"
    assert out["start"] == first.isoformat() and out["end"] == last.isoformat()
    assert out["total"] == "30000.00"
    credited = {c["channel"]: c["credited"] for c in out["channels"] if c["credited"] != "0.00"}
    assert credited == expected
    for row in out["campaigns"]:
        assert set(row) == {"channel", "campaign", "credited", "conversions", "spend", "roas"}


def test_the_worked_checks_through_the_page(client, team_a, worked):
    _org, first, _last = worked
    client.force_login(team_a.manager)
    response = client.get(
        URL, {"month": f"{first:%Y-%m}", "model": "position_based", "value": "revenue"}
    )
    assert response.status_code == 200
    rows = {row[0].text: row[1].text for row in response.context["tables"]["channels"].rows}
    assert rows == {"c1": "12,000.00", "c2": "6,000.00", "c3": "12,000.00"}
    body = response.content.decode()
    assert "$30,000.00" in body
    csv = client.get(
        URL,
        {"month": f"{first:%Y-%m}", "model": "position_based", "value": "revenue",
         "format": "csv", "table": "channels"},
    )  # fmt: skip
    assert csv.status_code == 200
    text = csv_text(csv)
    assert 'c2,"6,000.00"' in text


def test_the_page_and_the_command_show_the_same_numbers_with_spend(client, team_a):
    org = team_a.org
    first, last = past_month(2)
    journey(org, first + timedelta(days=5), [("fb", "spring"), ("google", "brand")], cash=1000)
    journey(org, first + timedelta(days=6), [("facebook", "spring")], cash=500)
    campaign = Campaign.objects.create(org=org, channel="meta", name="spring")
    CampaignDay.objects.create(
        org=org, campaign=campaign, date=first, spend=Decimal("300"), impressions=1000, clicks=50
    )
    rebuild(org)
    out = _command(org, "linear", first, last)
    channels = {c["channel"]: c for c in out["channels"]}
    # fb and facebook are one channel, Meta, through the default channel table.
    assert channels["meta"]["credited"] == "1000.00"
    assert channels["google"]["credited"] == "500.00"
    spring = next(c for c in out["campaigns"] if c["campaign"] == "spring")
    assert spring["spend"] == "300.00" and spring["credited"] == "1000.00"
    assert Decimal(spring["roas"]) == Decimal("1000") / Decimal("300")
    client.force_login(team_a.manager)
    response = client.get(URL, {"month": f"{first:%Y-%m}", "model": "linear"})
    campaigns = {
        (row[0].text, row[1].text): row for row in response.context["tables"]["campaigns"].rows
    }
    row = campaigns[("meta", "spring")]
    assert row[2].text == "1,000.00" and row[6].text == "300.00"
    assert row[8].text == "3.33×"  # cash ROAS: 1,000 / 300
    assert row[14].text == "5.00%"  # CTR: 50 / 1,000
    assert row[15].text == "6.00"  # CPC: 300 / 50
    # Every figure drills down to the journeys behind it.
    drill = client.get(row[2].href)
    assert drill.status_code == 200
    assert drill.context["count"] == 2  # both journeys touched meta / spring


def test_credited_net_cash_adds_up_to_the_periods_net_cash_for_every_model(team_a):
    org = team_a.org
    first, last = past_month(2)
    sources = [("fb", "a"), ("google", "b"), ("yt", "c"), ("", ""), ("tiktok", "d")]
    for i in range(30):
        path = [sources[(i + k) % len(sources)] for k in range(1 + i % 4)]
        contact = journey(
            org, first + timedelta(days=1 + i % 25), path, cash=Decimal(f"{1000 + 37 * i}.33")
        )
        if i % 7 == 0:
            RefundFactory(payment=contact.payments.first(), amount=Decimal("100.10"))
    for i in range(15):
        journey(org, first + timedelta(days=2 + i), [sources[i % len(sources)]])  # no conversion
    rebuild(org)
    net_cash = Decimal(
        kpi_summary(org=org, start=first, end=last, raw=True)["base"]["cash_collected"]
    )
    assert net_cash > 0
    for model in MODEL_NAMES:
        query = Query(start=first, end=last, model=model, value="net_cash")
        report = attribution_report(org=org, query=query, compute=True)
        assert report.total == net_cash, model
        assert sum((r.credited for r in report.channels), Decimal(0)) == net_cash, model
        assert sum((r.credited for r in report.campaigns), Decimal(0)) == net_cash, model


def test_a_data_driven_model_is_computed_by_the_task_and_the_page_says_so(client, team_a):
    org = team_a.org
    first, _last = past_month(2)
    journey(org, first + timedelta(days=3), [("fb", "a"), ("google", "b")], cash=100)
    rebuild(org)
    client.force_login(team_a.manager)
    # Tasks run eagerly in tests: the task has cached the result by the time the page polls.
    params = {"month": f"{first:%Y-%m}", "model": "markov"}
    first_view = client.get(URL, params)
    assert first_view.status_code == 200
    again = client.get(URL, params, headers={"HX-Request": "true"})
    body = again.content.decode()
    assert "Computing" not in body
    assert "of conversions would be lost" in body  # the model explains itself
    assert 'id="attribution-body"' in body and "<html" not in body


def test_compare_shows_every_model(client, team_a, worked):
    _org, first, _last = worked
    client.force_login(team_a.manager)
    response = client.get(URL, {"month": f"{first:%Y-%m}", "model": "compare", "value": "revenue"})
    assert response.status_code == 200
    # The data-driven ones are computing (or computed by the eager task on a later view).
    response = client.get(URL, {"month": f"{first:%Y-%m}", "model": "compare", "value": "revenue"})
    table = response.context["tables"]["compare"]
    assert len(table.header) == 1 + len(MODEL_NAMES)
    assert 'id="chart-compare"' in response.content.decode()


def test_reps_may_not_open_the_page_and_managers_may(client, team_a):
    for user in (team_a.closer, team_a.setter):
        client.force_login(user)
        assert client.get(URL).status_code == 403
        assert client.get(reverse("marketing:journeys")).status_code == 403
        assert client.get(reverse("marketing:channels")).status_code == 403
    for user in (team_a.manager, team_a.owner):
        client.force_login(user)
        assert client.get(URL).status_code == 200


def test_the_nav_links_the_page_for_managers_only(client, team_a):
    client.force_login(team_a.manager)
    assert 'href="/attribution/"' in client.get("/dashboard/").content.decode()
    client.force_login(team_a.closer)
    assert 'href="/attribution/"' not in client.get("/dashboard/").content.decode()


def test_another_orgs_journeys_and_mappings_are_not_reachable(client, team_a, outsider):
    org = team_a.org
    first, _last = past_month(2)
    journey(org, first + timedelta(days=3), [("fb", "secretcampaign")], cash=777)
    rebuild(org)
    from apps.marketing.models import ChannelMapping

    mapping = ChannelMapping.objects.create(org=org, source="zz", channel="meta")
    client.force_login(outsider)
    page = client.get(URL, {"month": f"{first:%Y-%m}"}).content.decode()
    assert "secretcampaign" not in page and "777" not in page
    drill = client.get(reverse("marketing:journeys"), {"month": f"{first:%Y-%m}"})
    assert drill.context["count"] == 0
    response = client.post(reverse("marketing:channel_delete"), {"pk": mapping.pk})
    assert response.status_code == 404
    assert ChannelMapping.objects.filter(pk=mapping.pk).exists()


def test_a_manager_maps_a_source_and_the_credit_follows(client, team_a):
    org = team_a.org
    first, last = past_month(2)
    journey(org, first + timedelta(days=3), [("partnerx", "a")], cash=100)
    rebuild(org)
    client.force_login(team_a.manager)
    response = client.post(
        reverse("marketing:channels"), {"source": " PartnerX ", "channel": "Affiliates"}
    )
    assert response.status_code == 302
    out = _command(org, "linear", first, last)
    assert [c["channel"] for c in out["channels"]] == ["affiliates"]


def test_bad_filters_fall_back_and_say_so(client, team_a):
    client.force_login(team_a.manager)
    response = client.get(URL, {"model": "nonsense", "lookback": "-3"})
    assert response.status_code == 200
    assert response.context["query"].model == "linear"
    assert response.context["query"].lookback_days == 90


def test_a_large_period_is_computed_in_the_background_and_the_page_polls(
    client, team_a, worked, monkeypatch
):
    from apps.marketing import selectors

    _org, first, _last = worked
    monkeypatch.setattr(selectors, "INLINE_JOURNEYS", 0)
    client.force_login(team_a.manager)
    params = {"month": f"{first:%Y-%m}", "model": "linear", "value": "revenue"}
    body = client.get(URL, params).content.decode()
    assert "Computing linear" in body and 'hx-trigger="load delay:2s"' in body
    # The task (eager in tests) has cached it: the poll gets the figures.
    polled = client.get(URL, params, headers={"HX-Request": "true"}).content.decode()
    assert "Computing" not in polled and "$30,000.00" in polled
