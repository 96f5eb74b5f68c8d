"""Every currency a person enters is picked from ISO 4217: "DOL" or "dollars" never gets in."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.orgs.models import Organization

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "page",
    [
        "admin:kpis_adspend_add",
        "admin:payments_payment_add",
        "admin:payments_refund_add",
        "admin:payments_currencyrate_add",
        "admin:deals_deal_add",
        "orgs:settings",
    ],
)
def test_currency_is_a_list_of_iso_codes(client, team_a, page):
    client.force_login(team_a.owner)

    html = client.get(reverse(page)).content.decode()

    assert '<select name="currency"' in html
    assert '<option value="EUR"' in html and '<option value="KWD"' in html


def test_the_settings_refuse_a_made_up_currency(client, team_a):
    client.force_login(team_a.owner)
    data = {
        "name": team_a.org.name,
        "timezone": "UTC",
        "currency": "DOL",
        "default_region": "US",
        "identifier_share_limit": 5,
    }

    response = client.post(reverse("orgs:settings"), data)

    assert response.status_code == 200
    team_a.org.refresh_from_db()
    assert team_a.org.currency == "USD"
    assert client.post(reverse("orgs:settings"), {**data, "currency": "GBP"}).status_code == 302
    team_a.org.refresh_from_db()
    assert team_a.org.currency == "GBP"


def test_create_org_refuses_a_made_up_currency():
    with pytest.raises(CommandError, match="not an ISO 4217 currency code"):
        call_command("create_org", "bad", "--name", "Bad", "--currency", "dol")
    assert not Organization.objects.filter(slug="bad").exists()
