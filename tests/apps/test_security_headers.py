"""Issue 17: every page carries a Content-Security-Policy with a per-response nonce, and a
Permissions-Policy refusing the browser features the app never uses."""

import re

import pytest
from django.urls import reverse


def _directives(header: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.mark.django_db
def test_a_page_allows_only_its_own_and_nonced_scripts_and_styles(login, team_a):
    response = login(team_a.manager).get(reverse("kpis:dashboard"))
    policy = _directives(response.headers["Content-Security-Policy"])
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    assert policy["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert policy["style-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    # Every script and style element of the page carries this response's nonce.
    html = response.content.decode()
    tags = re.findall(r"<(?:script|style)\b[^>]*>", html)
    executable = [t for t in tags if 'type="application/json"' not in t]
    assert executable
    assert all(f'nonce="{nonce}"' in tag for tag in executable), executable
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


@pytest.mark.django_db
def test_each_response_gets_a_new_nonce(client):
    first = client.get(reverse("account_login")).headers["Content-Security-Policy"]
    second = client.get(reverse("account_login")).headers["Content-Security-Policy"]
    assert re.search(r"'nonce-[^']+'", first)
    assert first != second


@pytest.mark.django_db
def test_the_admin_sends_the_policy_too(login, team_a):
    team_a.owner.is_superuser = True
    team_a.owner.save()
    response = login(team_a.owner).get(reverse("admin:index"))
    assert response.status_code == 200
    policy = _directives(response.headers["Content-Security-Policy"])
    # Admin's templates need no nonce (their scripts are files), so none is issued.
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]


@pytest.mark.django_db
def test_every_response_refuses_camera_microphone_and_location(client):
    header = client.get(reverse("account_login")).headers["Permissions-Policy"]
    features = dict(part.strip().split("=", 1) for part in header.split(","))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()"
    assert "publickey-credentials-get" not in features  # security keys may sign in
