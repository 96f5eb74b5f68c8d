"""Acceptance 1, for every endpoint: org B's key reaches nothing of org A, a read key cannot
write, a revoked or expired key (or none) gets 401; every error has the one error body."""

from datetime import timedelta

import pytest
from django.urls import get_resolver
from django.utils import timezone

from apps.api.models import ApiKey, Conversion, Workspace
from apps.api.services import ConversionInput, api_key_revoke, conversion_record
from tests.apps.api.helpers import Api, personal_key, workspace, workspace_key
from tests.factories import (
    ContactFactory,
    DealFactory,
    MeetingFactory,
    PaymentFactory,
    PostCallFormFactory,
)

MARKER = "Zanzibar-Secret"

# (url name, method, path template): every endpoint of /api/v1.
ENDPOINTS = [
    ("conversions", "GET", "/api/v1/conversions"),
    ("conversions", "POST", "/api/v1/conversions"),
    ("analytics", "GET", "/api/v1/conversions/analytics"),
    ("conversion", "GET", "/api/v1/conversions/{conversion}"),
    ("contacts", "GET", "/api/v1/contacts"),
    ("contact", "GET", "/api/v1/contacts/{contact}"),
    ("contact_conversion", "PATCH", "/api/v1/contacts/{contact}/conversion"),
    ("calls", "GET", "/api/v1/calls"),
    ("call", "GET", "/api/v1/calls/{call}"),
    ("pcfs", "GET", "/api/v1/pcfs"),
    ("pcf", "GET", "/api/v1/pcfs/{pcf}"),
    ("deals", "GET", "/api/v1/deals"),
    ("deal", "GET", "/api/v1/deals/{deal}"),
    ("payments", "GET", "/api/v1/payments"),
    ("payment", "GET", "/api/v1/payments/{payment}"),
    ("kpi_summary", "GET", "/api/v1/kpis/summary"),
    ("workspace_activity", "GET", "/api/v1/workspaces/{workspace}/activity"),
]
WRITES = {("conversions", "POST"): "convert", ("contact_conversion", "PATCH"): "update"}


@pytest.fixture
def org_a(team_a):
    """One row of each kind in org A, the people named MARKER, and a conversion logged."""
    contact = ContactFactory(org=team_a.org, first_name=MARKER, last_name=MARKER)
    meeting = MeetingFactory(org=team_a.org, contact=contact, event_name=MARKER)
    ws = workspace(team_a, name="Org A Partner")
    conversion, _ = conversion_record(
        org=team_a.org,
        workspace=ws,
        data=ConversionInput(
            contact_id=contact.pk, conversion_type="sale", conversion_value=1, converted_by=MARKER
        ),
    )
    return {
        "contact": contact.pk,
        "call": meeting.pk,
        "pcf": PostCallFormFactory(meeting=meeting, notes=MARKER).pk,
        "deal": DealFactory(org=team_a.org, contact=contact, status_label=MARKER).pk,
        "payment": PaymentFactory(org=team_a.org, contact=contact, product=MARKER).pk,
        "conversion": conversion.pk,
        "workspace": ws.slug,
        "own_key": workspace_key(team_a, ws=ws)[1],
    }


def _body(name, rows):
    if name == "conversions":
        return {"contact_id": rows["contact"], "conversion_type": "sale", "conversion_value": 1}
    return {"status": "lost"}


def _path(template, rows):
    return template.format(**rows)


def test_every_endpoint_is_listed_here():
    v1 = {
        p.name
        for p in get_resolver("apps.api.urls").url_patterns
        if str(p.pattern).startswith("v1/")
    }
    assert v1 == {name for name, _, _ in ENDPOINTS}


def _error(response, status, code):
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "template"), ENDPOINTS)
def test_org_b_sees_nothing_of_org_a(name, method, template, team_a, team_b, org_a):
    _, raw = workspace_key(team_b, ws=workspace(team_b, name="Org B Partner"))
    api = Api(raw)
    response = api.call(method, _path(template, org_a), _body(name, org_a))
    if "{" in template:
        _error(response, 404, "not_found")
    elif method == "POST":
        # Org A's contact id names nothing for org B: a field error, and nothing written.
        error = _error(response, 400, "invalid_request")
        assert "contact_id" in error["fields"]
        assert Conversion.objects.filter(org=team_b.org).count() == 0
    else:
        assert response.status_code == 200
        assert MARKER not in response.content.decode()
        body = response.json()
        if "results" in body:
            assert body["results"] == []
    # The same request with org A's own key does reach the row: the 404 is not simply "no".
    reached = Api(org_a["own_key"]).call(method, _path(template, org_a), _body(name, org_a))
    assert reached.status_code in (200, 201), (name, reached.content)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "template"), ENDPOINTS)
def test_a_read_key_reads_and_cannot_write(name, method, template, team_a, org_a):
    ws = Workspace.objects.get(org=team_a.org, slug=org_a["workspace"])
    _, raw = workspace_key(team_a, ws=ws, scopes=["read"])
    response = Api(raw).call(method, _path(template, org_a), _body(name, org_a))
    scope = WRITES.get((name, method))
    if scope is None:
        assert response.status_code == 200, response.content
    else:
        error = _error(response, 403, "permission_denied")
        assert scope in error["message"]
        assert Conversion.objects.count() == 1


def _revoked(team):
    key, raw = workspace_key(team)
    api_key_revoke(org=team.org, key=key, actor=team.owner)
    return raw


def _expired(team):
    key, raw = workspace_key(team, expires_at=timezone.now() + timedelta(days=1))
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    return raw


def _garbage(team):
    _, raw = workspace_key(team)
    return raw[:-4] + "abcd"


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "template"), ENDPOINTS)
def test_a_revoked_expired_wrong_or_missing_key_gets_401(name, method, template, team_a, org_a):
    for make_key in (_revoked, _expired, _garbage, lambda team: None):
        response = Api(make_key(team_a)).call(method, _path(template, org_a), _body(name, org_a))
        error = _error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert MARKER not in error["message"]
    assert Conversion.objects.count() == 1


@pytest.mark.django_db
def test_a_rep_personal_key_reads_their_own_rows_only(team_a, org_a):
    own = MeetingFactory(org=team_a.org, closer=team_a.closer_member)
    _, raw = personal_key(team_a, team_a.closer)
    api = Api(raw)
    ids = [row["id"] for row in api.get("/api/v1/calls").json()["results"]]
    assert ids == [own.pk]
    assert api.get(f"/api/v1/calls/{org_a['call']}").status_code == 404
    assert api.get(f"/api/v1/contacts/{org_a['contact']}").status_code == 404
    # Conversions are for managers and workspaces.
    _error(api.get("/api/v1/conversions"), 403, "permission_denied")
    kpis = api.get("/api/v1/kpis/summary").json()
    assert kpis["filters"]["closer"] == team_a.closer.email


@pytest.mark.django_db
def test_a_managers_personal_key_reads_the_org(team_a, org_a):
    _, raw = personal_key(team_a, team_a.manager)
    api = Api(raw)
    assert MARKER in api.get(f"/api/v1/contacts/{org_a['contact']}").content.decode()
    assert api.get("/api/v1/conversions").json()["results"][0]["id"] == org_a["conversion"]
    _error(api.post("/api/v1/conversions", _body("conversions", org_a)), 403, "permission_denied")


@pytest.mark.django_db
def test_a_personal_key_dies_with_its_membership(team_a, org_a):
    from apps.orgs.models import Membership

    _, raw = personal_key(team_a, team_a.manager)
    Membership.objects.filter(user=team_a.manager, org=team_a.org).delete()
    _error(Api(raw).get("/api/v1/contacts"), 401, "not_authenticated")


@pytest.mark.django_db
def test_unknown_paths_and_methods_answer_the_error_body(team_a):
    _, raw = workspace_key(team_a)
    api = Api(raw)
    _error(api.get("/api/v1/nothing-here"), 404, "not_found")
    _error(api.client.delete("/api/v1/conversions", headers=api.headers), 405, "method_not_allowed")
    _error(api.get("/api/v1/contacts", Accept="text/html"), 406, "not_acceptable")
