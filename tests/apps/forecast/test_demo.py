"""The demo org gets its first deal-probability model and something scored to show."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.forecast.models import ForecastModel, Prediction
from apps.orgs.models import Organization, User

pytestmark = pytest.mark.django_db


def test_seed_demo_trains_the_fallback_and_scores_open_deals_and_upcoming_calls(client):
    call_command("seed_demo", "--contacts", "60")
    org = Organization.objects.get(slug="demo")
    model = ForecastModel.objects.get(org=org)
    assert model.kind == "fallback" and model.n_outcomes < 200
    scored = Prediction.objects.filter(org=org)
    assert scored.filter(deal__isnull=False, probability__isnull=False).exists()
    client.force_login(User.objects.get(email="manager@demo.example"))
    page = client.get(reverse("forecast:page")).content.decode()
    assert "Stage win rate (fallback)" in page and "closed outcomes: the model needs 200." in page
    dashboard = client.get(reverse("kpis:dashboard")).content.decode()
    assert 'data-kpi="weighted_pipeline"' in dashboard and "open deal" in dashboard
