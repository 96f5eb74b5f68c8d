"""Money reads the same on every page: the org currency's symbol and minor units, thousands
grouped (one formatter, attribution.kpis.display), and the dashboard's chart library is small."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from apps.kpis.services import rollup_rebuild
from tests.factories import (
    ContactFactory,
    DealFactory,
    MeetingFactory,
    PaymentFactory,
    PostCallFormFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sale(team_a):
    org = team_a.org
    now = timezone.now() - timedelta(hours=2)
    contact = ContactFactory(org=org, first_seen_at=now)
    meeting = MeetingFactory(org=org, contact=contact, closer=team_a.closer_member)
    PostCallFormFactory(
        meeting=meeting,
        lead_showed=True,
        deal_closed=True,
        cash_collected=Decimal("2500"),
        contract_value=Decimal("12500"),
    )
    DealFactory(
        org=org, contact=contact, status="won", value=Decimal("12500"), closed_at=now,
        closer=team_a.closer_member,
    )  # fmt: skip
    PaymentFactory(
        org=org, contact=contact, amount=Decimal("2500"), paid_at=now, closer=team_a.closer_member
    )
    rollup_rebuild(org=org)
    return contact, meeting


def test_every_page_shows_money_one_way(client, team_a, sale):
    contact, meeting = sale
    client.force_login(team_a.manager)
    pages = {
        "payments": reverse("payments:list"),
        "deals": reverse("deals:list"),
        "contact": reverse("contacts:detail", args=[contact.pk]),
        "call": reverse("meetings:detail", args=[meeting.pk]),
    }
    for name, url in pages.items():
        body = client.get(url).content.decode()
        assert "$12,500.00" in body or "$2,500.00" in body, name
        for raw in ("12500.00", "2500.00 ", ">2500<", ">12500<", "10000.00"):
            assert raw not in body, (name, raw)


def test_the_rep_portal_shows_money_and_rates_formatted(client, team_a, sale):
    client.force_login(team_a.closer)
    body = client.get(reverse("rep:portal")).content.decode()
    assert "$12,500.00" in body  # the month's revenue
    assert "%" in body and "None" not in body


def test_a_yen_org_shows_no_minor_units(client, team_a, sale):
    team_a.org.currency = "JPY"
    team_a.org.save()
    PaymentFactory(org=team_a.org, amount=Decimal("125000"), currency="JPY")
    client.force_login(team_a.manager)
    body = client.get(reverse("payments:list")).content.decode()
    assert "¥125,000<" in body


def test_the_dashboard_loads_a_partial_plotly_bundle_only_when_a_chart_shows(client, team_a):
    client.force_login(team_a.manager)
    body = client.get(reverse("kpis:dashboard")).content.decode()
    assert "plotly.min.js" not in body  # the full 4.8 MB bundle
    assert 'data-plotly="' in body and '<script src="/static/vendor/plotly' not in body
    bundle = finders.find("vendor/plotly/plotly-finance-4.1.0.min.js")
    full = Path(settings.STATICFILES_DIRS[-1][1]) / "plotly.min.js"
    assert Path(bundle).stat().st_size < full.stat().st_size / 3


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert finders.find(response["Location"].removeprefix(settings.STATIC_URL))
