"""Tenancy, walked over the whole site: nobody in org B ever reaches a row of org A.

The walk enumerates URL patterns and admin registrations itself, so a new view or admin is covered
without anyone remembering to add it here.
"""

import pytest
from django.contrib import admin
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apps.orgs.admin_base import OrgScopedAdmin
from apps.orgs.models import TeamMember
from tests.apps.csv_read import body_text
from tests.apps.tenant_rows import tenant_rows
from tests.factories import MeetingFactory

MARKER = "Zanzibar-Secret"
# URL prefixes that are not tenant pages: sign-in flows, the admin (walked separately), health,
# the favicon's redirect to a static file, and the providers' webhook endpoints (no session;
# signed per org, tested in tests/apps/integrations/test_webhooks.py).
NOT_TENANT_PAGES = (
    "admin/",
    "accounts/",
    "healthz",
    "readyz",
    "favicon.ico",
    "metrics",
    "webhooks/",
    # The REST API takes Bearer keys, not sessions: tests/apps/api/test_access.py walks every
    # endpoint of it across orgs, scopes and dead keys.
    "api/",
)


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def site_patterns():
    return [
        (route, pattern)
        for route, pattern in _walk(get_resolver().url_patterns)
        if not route.startswith(NOT_TENANT_PAGES)
    ]


@pytest.fixture
def org_a_rows(team_a):
    """One row of every tenant-owned model in org A, the people in it named MARKER."""
    return tenant_rows(team_a, MARKER)


def _object_for(pattern: URLPattern, rows) -> models.Model | None:
    model = getattr(pattern.callback, "tenant_model", None)
    if model is None:
        return None
    found = [row for row in rows.values() if isinstance(row, model)]
    assert found, f"the tenancy walk has no {model.__name__} of org A to try"
    return found[0]


def _kwargs_for(route: str, pattern: URLPattern, rows) -> dict:
    names = list(pattern.pattern.converters)
    if not names:
        return {}
    if names == ["pk"]:
        obj = _object_for(pattern, rows)
        assert obj is not None, (
            f"{route}: a view taking a pk must declare its model with @tenant_object"
        )
        return {"pk": obj.pk}
    if names == ["token"]:
        return {"token": rows["invitation"].token}
    if names == ["token", "pk"]:
        # A magic-link page: a token that is not ours (an invitation's) must reach nothing.
        obj = _object_for(pattern, rows)
        assert obj is not None, f"{route}: declare the pk's model with @tenant_object"
        return {"token": rows["invitation"].token, "pk": obj.pk}
    raise AssertionError(f"{route}: teach the tenancy walk what {names} are for org A")


def test_the_walk_finds_the_site(team_a):
    routes = [route for route, _ in site_patterns()]
    assert "calls/<int:pk>/" in routes
    assert "contacts/<int:pk>/" in routes
    assert len(routes) >= 8


@pytest.mark.django_db
def test_an_outsider_never_reaches_org_a_through_any_page(client, outsider, org_a_rows):
    client.force_login(outsider)
    for route, pattern in site_patterns():
        kwargs = _kwargs_for(route, pattern, org_a_rows)
        url = reverse(_name(pattern, route), kwargs=kwargs)
        response = client.get(url)
        if kwargs:
            assert response.status_code == 404, f"GET {url} gave {response.status_code}"
        else:
            assert response.status_code in (200, 302, 405), f"GET {url}: {response.status_code}"
            assert MARKER not in body_text(response), f"GET {url} shows org A's data"


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client, org_a_rows):
    login_url = reverse("account_login")
    for route, pattern in site_patterns():
        if "token" in pattern.pattern.converters:
            continue  # an invitation link is the way in for people without an account
        url = reverse(_name(pattern, route), kwargs=_kwargs_for(route, pattern, org_a_rows))
        response = client.get(url)
        if response.status_code == 405:
            continue  # POST-only; its POST is checked below
        assert response.status_code == 302, f"GET {url} gave {response.status_code}"
        assert response["Location"].startswith(login_url), url
        response = client.post(url)
        assert response.status_code == 302 and response["Location"].startswith(login_url), url


def _name(pattern: URLPattern, route: str) -> str:
    for namespace_route, resolver in _namespaces():
        if route.startswith(namespace_route) and pattern in resolver.url_patterns:
            return f"{resolver.namespace}:{pattern.name}"
    return pattern.name


def _namespaces():
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace:
            yield str(entry.pattern), entry


# --- Django admin ---------------------------------------------------------------------------


def _admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _org_a_row_of(model, rows):
    for row in rows.values():
        if type(row) is model:
            return row
    raise AssertionError(f"the admin walk has no {model.__name__} row of org A to try")


@pytest.mark.django_db
def test_an_org_b_admin_sees_no_org_a_row_in_any_admin(client, outsider, org_a_rows):
    client.force_login(outsider)
    assert outsider.is_staff, "owners work in Django admin as staff users"
    tried = 0
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, OrgScopedAdmin):
            # Platform-level admins (users, beat schedules) hold no org's rows: closed to staff.
            response = client.get(_admin_url(model, "changelist"))
            assert response.status_code in (403, 404), model
            continue
        row = _org_a_row_of(model, org_a_rows)
        changelist = client.get(_admin_url(model, "changelist"))
        assert changelist.status_code == 200, model
        assert row.pk not in {obj.pk for obj in changelist.context["cl"].result_list}, model
        for view in ("change", "delete", "history"):
            response = client.get(_admin_url(model, view, row.pk))
            assert response.status_code == 404, f"{model.__name__} {view}: {response.status_code}"
        tried += 1
    assert tried >= 20


@pytest.mark.django_db
def test_a_foreign_org_cannot_be_chosen_in_admin_forms(client, outsider, team_a, team_b):
    client.force_login(outsider)
    response = client.post(
        _admin_url(TeamMember, "add"),
        {"org": team_a.org.pk, "name": "Mole", "email": "mole@b.example", "external_ids": "{}"},
    )
    assert response.status_code == 200  # the form comes back with an error
    assert "org" in response.context["adminform"].form.errors
    assert not TeamMember.objects.filter(name="Mole").exists()
    # The same form with the user's own org goes through: the check is not simply "no".
    response = client.post(
        _admin_url(TeamMember, "add"),
        {"org": team_b.org.pk, "name": "Mole", "email": "mole@b.example", "external_ids": "{}"},
    )
    assert response.status_code == 302
    assert TeamMember.objects.get(name="Mole").org == team_b.org


# --- reps -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_closer_cannot_open_another_closers_call(client, team_a, org_a_rows):
    client.force_login(team_a.closer)
    other_call = org_a_rows["meeting"]  # closed by another closer of the same org
    own_call = MeetingFactory(org=team_a.org, closer=team_a.closer_member)
    assert client.get(reverse("meetings:detail", args=[other_call.pk])).status_code == 404
    assert client.get(reverse("meetings:detail", args=[own_call.pk])).status_code == 200
    listing = client.get(reverse("meetings:list")).content.decode()
    assert reverse("meetings:detail", args=[own_call.pk]) in listing
    assert reverse("meetings:detail", args=[other_call.pk]) not in listing
    assert client.get(reverse("contacts:detail", args=[other_call.contact.pk])).status_code == 404
    assert MARKER not in client.get(reverse("payments:list")).content.decode()


@pytest.mark.django_db
def test_a_manager_sees_every_call_of_the_org(client, team_a, org_a_rows):
    client.force_login(team_a.manager)
    response = client.get(reverse("meetings:detail", args=[org_a_rows["meeting"].pk]))
    assert response.status_code == 200
    assert MARKER in response.content.decode()
