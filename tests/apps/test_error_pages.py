"""Error pages and the sign-in page a newcomer meets."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def test_the_error_pages_have_navigation(client, team_a):
    client.force_login(team_a.viewer)

    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert "Page not found" in missing.content.decode()
    assert f'href="{reverse("kpis:dashboard")}"' in missing.content.decode()

    refused = client.get(reverse("payments:list"))
    assert refused.status_code == 403
    assert "You may not do that here" in refused.content.decode()

    crashed = server_error(RequestFactory().get("/"))
    assert crashed.status_code == 500
    assert "Something went wrong" in crashed.content.decode()
    assert 'href="/"' in crashed.content.decode()


def test_sign_in_points_at_invitations_since_sign_up_is_closed(client):
    html = client.get(reverse("account_login")).content.decode()

    assert "sign up" not in html.lower()
    assert "invitation" in html
