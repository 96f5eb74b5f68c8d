"""The integrations page (owners and admins only), the credential form, `manage.py set_credential`."""

from __future__ import annotations

import io
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from apps.integrations import webhooks
from apps.integrations.models import Credential, WebhookEvent
from apps.integrations.services import credential_values
from apps.orgs.models import AuditLog
from tests.apps.integrations.webhook_support import deliver, set_secrets
from tests.attribution.sources.conftest import load_fixture

pytestmark = pytest.mark.django_db

PAGE = "integrations:page"
SAVE = "integrations:credential_save"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def _event(org, provider, event_id, *, status="processed", days_ago=0):
    event = WebhookEvent.objects.create(
        org=org,
        provider=provider,
        event_id=event_id,
        event_type="invitee.created",
        body=b'{"email": "zanzibar@secret.example"}',
        status=status,
        processed_at=timezone.now() - timedelta(days=days_ago) if status == "processed" else None,
    )
    WebhookEvent.objects.filter(pk=event.pk).update(
        received_at=timezone.now() - timedelta(days=days_ago)
    )
    return event


def test_the_page_lists_each_providers_url_last_event_and_daily_counts(client, team_a):
    org = team_a.org
    _event(org, "calendly", "a")
    _event(org, "calendly", "b")
    _event(org, "calendly", "c", status="failed")
    _event(org, "calendly", "d", days_ago=2)
    client.force_login(team_a.admin)
    response = client.get(reverse(PAGE))
    assert response.status_code == 200
    html = response.content.decode()
    for provider in webhooks.PROVIDERS:
        assert f"http://testserver/webhooks/{provider}/{org.slug}/" in html
    calendly = next(p for p in response.context["providers"] if p["provider"] == "calendly")
    today, _, two_days_ago = calendly["days"][:3]
    assert (today["received"], today["processed"], today["failed"]) == (3, 2, 1)
    assert (two_days_ago["received"], two_days_ago["processed"]) == (1, 1)
    assert calendly["last_event"].event_id in ("a", "b", "c")
    # The page shows counts, never a payload.
    assert "zanzibar@secret.example" not in html


def test_rejected_deliveries_are_counted_on_the_page(client, team_a):
    set_secrets(team_a.org)
    payload = load_fixture("stripe/charge.succeeded")
    deliver(client, "stripe", team_a.org.slug, payload, secret="whsec_forged")
    client.force_login(team_a.owner)
    stripe = next(
        p for p in client.get(reverse(PAGE)).context["providers"] if p["provider"] == "stripe"
    )
    assert stripe["days"][0]["rejected"] == 1
    assert stripe["days"][0]["received"] == 0


def test_credentials_are_shown_masked(client, team_a):
    set_secrets(team_a.org)
    client.force_login(team_a.owner)
    html = client.get(reverse(PAGE)).content.decode()
    assert "whsec_test_Zk3pV8mQ" not in html
    assert "••••••••V8mQ" in html


@pytest.mark.parametrize("role", ["manager", "closer", "setter", "viewer"])
def test_roles_below_admin_may_not_open_the_page(client, team_a, role):
    client.force_login(getattr(team_a, role))
    assert client.get(reverse(PAGE)).status_code == 403
    response = client.post(
        reverse(SAVE), {"provider": "stripe", "name": "api_key", "value": "sk_live_x"}
    )
    assert response.status_code == 403
    assert not Credential.objects.exists()


def test_the_page_shows_only_the_current_orgs_events(client, team_a, team_b):
    _event(team_a.org, "stripe", "a-only")
    client.force_login(team_b.owner)
    response = client.get(reverse(PAGE))
    stripe = next(p for p in response.context["providers"] if p["provider"] == "stripe")
    assert stripe["last_event"] is None
    assert team_a.org.slug not in response.content.decode()


def test_an_admin_saves_a_credential_encrypted_and_audited(client, team_a):
    client.force_login(team_a.admin)
    response = client.post(
        reverse(SAVE), {"provider": "close", "name": "api_key", "value": "api_close_secret_9f3"}
    )
    assert response.status_code == 302
    credential = Credential.objects.get(org=team_a.org, provider="close", name="api_key")
    assert "api_close_secret_9f3" not in credential.encrypted_value
    assert credential_values(org=team_a.org, provider="close", name="api_key") == [
        "api_close_secret_9f3"
    ]
    assert credential.updated_by == team_a.admin
    audit = AuditLog.objects.get(org=team_a.org, action="credential.set")
    assert "api_close_secret_9f3" not in str(audit.__dict__)
    page = client.get(reverse(PAGE)).content.decode()
    assert "api_close_secret_9f3" not in page


def test_a_name_the_provider_does_not_have_is_refused(client, team_a):
    client.force_login(team_a.owner)
    response = client.post(
        reverse(SAVE), {"provider": "stripe", "name": "signing_key", "value": "x"}
    )
    assert response.status_code == 400
    assert "webhook_secret" in response.content.decode()
    assert not Credential.objects.exists()


def test_the_form_only_accepts_post(client, team_a):
    client.force_login(team_a.owner)
    assert client.get(reverse(SAVE)).status_code == 405


def test_the_nav_links_the_page_for_admins_only(client, team_a):
    client.force_login(team_a.owner)
    assert reverse(PAGE) in client.get(reverse("kpis:dashboard")).content.decode()
    client.force_login(team_a.manager)
    assert reverse(PAGE) not in client.get(reverse("kpis:dashboard")).content.decode()


# --- manage.py set_credential -----------------------------------------------------------------


def test_set_credential_stores_the_value_without_echoing_it(team_a):
    out = io.StringIO()
    call_command(
        "set_credential", team_a.org.slug, "whop", "webhook_secret", "ws_cmd_secret_77", stdout=out
    )
    assert credential_values(org=team_a.org, provider="whop", name="webhook_secret") == [
        "ws_cmd_secret_77"
    ]
    assert "ws_cmd_secret_77" not in out.getvalue()
    assert "••••••••t_77" in out.getvalue()


def test_set_credential_reads_the_value_from_stdin(team_a):
    with mock.patch("sys.stdin", io.StringIO("sk_from_stdin_42\n")):
        call_command(
            "set_credential", team_a.org.slug, "stripe", "api_key", "-", stdout=io.StringIO()
        )
    assert credential_values(org=team_a.org, provider="stripe", name="api_key") == [
        "sk_from_stdin_42"
    ]


def test_set_credential_keeps_the_old_secret_valid_during_the_rotation(team_a):
    call_command(
        "set_credential",
        team_a.org.slug,
        "stripe",
        "webhook_secret",
        "whsec_one",
        stdout=io.StringIO(),
    )
    call_command(
        "set_credential",
        team_a.org.slug,
        "stripe",
        "webhook_secret",
        "whsec_two",
        stdout=io.StringIO(),
    )
    assert credential_values(org=team_a.org, provider="stripe", name="webhook_secret") == [
        "whsec_two",
        "whsec_one",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("no-such-org", "stripe", "api_key", "x"), "No organisation"),
        (("org-a", "stripe", "signing_key", "x"), "webhook_secret"),
        (("org-a", "stripe", "api_key", "   "), "empty"),
    ],
)
def test_set_credential_refuses_what_it_cannot_store(team_a, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("set_credential", *args, stdout=io.StringIO())
    assert not Credential.objects.exists()
