"""The site's API pages (keys, workspaces, conversions), the admin, the command."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.api.models import ApiKey, Workspace
from apps.api.services import ConversionInput, conversion_record
from apps.orgs.models import AuditLog
from tests.apps.api.helpers import Api, workspace
from tests.factories import ContactFactory


def _new_key(response) -> str:
    html = response.content.decode()
    start = html.index('id="new-key-value">') + len('id="new-key-value">')
    return html[start : html.index("<", start)]


@pytest.mark.django_db
def test_an_admin_creates_a_workspace_and_its_key_sees_it_once_and_revokes_it(client, team_a):
    client.force_login(team_a.admin)
    response = client.post(
        reverse("api_site:workspace_new"),
        {"name": "Call Centre", "permissions": ["read", "convert"]},
    )
    assert response.status_code == 302
    ws = Workspace.objects.get(org=team_a.org, slug="call-centre")
    response = client.post(
        reverse("api_site:key_new"), {"workspace": ws.pk, "scopes": ["convert"], "name": "zap"}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = _new_key(response)
    key = ApiKey.objects.get(workspace=ws)
    assert raw.startswith(f"atk_{key.prefix}_") and raw not in str(key.digest)
    # Shown once: the list page names the prefix, never the key.
    listing = client.get(reverse("api_site:keys")).content.decode()
    assert key.prefix in listing and raw not in listing
    contact = ContactFactory(org=team_a.org)
    body = {"contact_id": contact.pk, "conversion_type": "sale", "conversion_value": 3}
    assert Api(raw).post("/api/v1/conversions", body).status_code == 201
    actions = set(AuditLog.objects.filter(org=team_a.org).values_list("action", flat=True))
    assert {"api.workspace_create", "api.key_create"} <= actions
    assert raw not in str(list(AuditLog.objects.values_list("data", flat=True)))
    response = client.post(reverse("api_site:key_revoke", args=[key.pk]))
    assert response.status_code == 302
    assert AuditLog.objects.filter(action="api.key_revoke", target_id=str(key.pk)).exists()
    assert Api(raw).post("/api/v1/conversions", body).status_code == 401


@pytest.mark.django_db
def test_a_key_cannot_exceed_its_workspace(client, team_a):
    client.force_login(team_a.admin)
    ws = workspace(team_a, name="Reader", permissions=["read"])
    response = client.post(reverse("api_site:key_new"), {"workspace": ws.pk, "scopes": ["convert"]})
    assert response.status_code == 400
    assert "may not convert" in response.content.decode()
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_a_closer_makes_a_personal_read_key_only_and_no_workspace(client, team_a):
    client.force_login(team_a.closer)
    assert client.post(reverse("api_site:workspace_new"), {"name": "X"}).status_code == 403
    response = client.post(reverse("api_site:key_new"), {"scopes": ["convert"]})
    assert response.status_code == 400 and not ApiKey.objects.exists()
    response = client.post(reverse("api_site:key_new"), {"scopes": ["read"]})
    assert response.status_code == 200
    key = ApiKey.objects.get()
    assert key.user == team_a.closer and key.scopes == ["read"]
    # Another member's key is not theirs to revoke.
    other = ApiKey.objects.create(
        org=team_a.org, user=team_a.setter, prefix="0" * 12, digest="x", scopes=["read"]
    )
    assert client.post(reverse("api_site:key_revoke", args=[other.pk])).status_code == 404


@pytest.mark.django_db
def test_the_conversions_page_and_the_contact_timeline_show_conversions(client, team_a):
    contact = ContactFactory(org=team_a.org, first_name="Quintessa")
    ws = workspace(team_a, name="Partner Sales")
    conversion_record(
        org=team_a.org,
        workspace=ws,
        data=ConversionInput(
            contact_id=contact.pk, conversion_type="upsell", conversion_value=1234
        ),
    )
    client.force_login(team_a.manager)
    page = client.get(reverse("conversions:page"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Quintessa" in html and "upsell" in html and "Partner Sales" in html
    assert 'data-figure="fig-timeline"' in html and 'data-figure="fig-funnel"' in html
    detail = client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    assert 'id="conversions"' in detail and "upsell" in detail
    client.force_login(team_a.closer)
    assert client.get(reverse("conversions:page")).status_code == 403


@pytest.mark.django_db
def test_create_api_key_prints_the_key_alone_on_its_last_line(team_a):
    out = StringIO()
    call_command(
        "create_api_key", team_a.org.slug, "--workspace", "CRM Bot",
        "--scopes", "read,update,convert", stdout=out,
    )  # fmt: skip
    raw = out.getvalue().strip().splitlines()[-1]
    key = ApiKey.objects.get(workspace__slug="crm-bot")
    assert raw.startswith(f"atk_{key.prefix}_") and " " not in raw
    assert key.scopes == ["read", "update", "convert"]
    assert Api(raw).get("/api/v1/contacts").status_code == 200


@pytest.mark.django_db
def test_the_admin_lists_keys_without_their_hash_and_revokes(client, team_a):
    from tests.apps.api.helpers import workspace_key

    key, raw = workspace_key(team_a)
    client.force_login(team_a.owner)
    change = client.get(reverse("admin:api_apikey_change", args=[key.pk]))
    assert change.status_code == 200 and key.digest not in change.content.decode()
    client.post(
        reverse("admin:api_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert Api(raw).get("/api/v1/contacts").status_code == 401
