"""A NUL character in a query string or a submitted form is a 400 on every page, never a 500
(PostgreSQL refuses NUL in text; security issue 17, finding 3)."""

import pytest
from django.urls import reverse

from apps.meetings.models import CallTypeRule
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

# Pages whose GET parameters reach a query: a search, the KPI filters, the ledgers' filters and
# Django admin's own search.
PAGES = [
    ("contacts:list", {"q": "\x00"}),
    ("kpis:summary", {"source": "\x00"}),
    ("kpis:summary", {"closer": "a\x00@b.example"}),
    ("kpis:dashboard", {"source": "\x00"}),
    ("payments:list", {"provider": "\x00"}),
    ("deals:list", {"status": "won\x00"}),
    ("admin:contacts_contact_changelist", {"q": "\x00"}),
]


@pytest.mark.parametrize(("name", "params"), PAGES)
def test_a_nul_in_a_query_parameter_is_a_clear_400(client, team_a, name, params):
    client.force_login(team_a.owner)
    response = client.get(reverse(name), params)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_a_nul_in_a_parameter_name_is_a_400_too(client, team_a):
    client.force_login(team_a.owner)
    assert client.get(reverse("contacts:list") + "?%00=x").status_code == 400


def test_the_same_pages_answer_without_the_nul(client, team_a):
    ContactFactory(org=team_a.org, first_name="Nadia")
    client.force_login(team_a.owner)
    for name, params in PAGES:
        clean = {key: value.replace("\x00", "") for key, value in params.items()}
        response = client.get(reverse(name), clean)
        assert response.status_code in (200, 400), name
        assert b"NUL" not in response.content, name


def test_bytes_that_would_be_a_lone_surrogate_are_searched_as_replacement_characters(
    client, team_a
):
    client.force_login(team_a.owner)
    response = client.get(reverse("contacts:list") + "?q=%ED%A0%80")
    assert response.status_code == 200
    assert response.context["query"] == "\ufffd\ufffd\ufffd"


def test_a_nul_in_a_posted_form_is_a_400_and_saves_nothing(client, team_a):
    client.force_login(team_a.owner)
    response = client.post(
        reverse("meetings:types"),
        {"name_pattern": "Strategy\x00", "call_type": "solution", "priority": "1"},
    )
    assert response.status_code == 400
    assert not CallTypeRule.objects.exists()


def test_a_nul_in_the_sign_in_form_is_a_400(client, team_a):
    response = client.post(
        reverse("account_login"), {"login": "owner@org-a.example\x00", "password": "x"}
    )
    assert response.status_code == 400
