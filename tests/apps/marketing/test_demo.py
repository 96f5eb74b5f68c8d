"""The demo's marketing gives every part of the attribution page something to show."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.kpis.selectors import month_bounds
from apps.marketing.models import Campaign, CampaignDay, Journey
from apps.marketing.selectors import Query, attribution_report
from apps.orgs.models import Organization

pytestmark = pytest.mark.django_db


def test_the_demo_has_channels_campaigns_and_multi_touch_journeys(client):
    call_command("seed_demo", "--contacts", "150")
    org = Organization.objects.get(slug="demo")
    assert Campaign.objects.filter(org=org).values("channel").distinct().count() >= 5
    assert CampaignDay.objects.filter(org=org, impressions__gt=0, clicks__gt=0).exists()
    multi = [j for j in Journey.objects.filter(org=org, kind="payment") if len(j.touches) > 1]
    assert multi, "journeys of more than one touch"
    last_month = month_bounds(timezone.localdate() - timedelta(days=45))
    query = Query(start=last_month[0] - timedelta(days=60), end=last_month[1], model="linear")
    report = attribution_report(org=org, query=query, compute=True, compare=True)
    assert len([r for r in report.channels if r.credited]) >= 3
    assert any(r.spend and r.clicks for r in report.campaigns)
    assert report.paths and any(len(p["channels"]) > 1 for p in report.paths)
    assert report.recommendations
    linear, first = report.compare["linear"], report.compare["first_touch"]
    assert linear != first, "the models disagree somewhere"
