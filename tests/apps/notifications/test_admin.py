"""The notifications admin: channels per kind with a write-only secret, the test action, the
delivery log read-only; staff of another org see none of it (also walked in test_tenancy)."""

import pytest
import responses
from django.urls import reverse

from apps.notifications.models import Channel, Delivery
from apps.orgs import crypto
from tests.apps.notifications.conftest import WEBHOOK_URL

pytestmark = pytest.mark.django_db


def _add(client, org, **overrides):
    data = {
        "org": org.pk,
        "name": "Sales",
        "type": "slack_webhook",
        "kinds": ["daily_report", "test"],
        "secret": WEBHOOK_URL,
        "slack_channel": "",
        "email_to": "",
        "active": "on",
        **overrides,
    }
    return client.post(reverse("admin:notifications_channel_add"), data)


def test_an_owner_adds_a_slack_channel_whose_secret_is_encrypted_and_never_shown(client, team_a):
    client.force_login(team_a.owner)
    response = _add(client, team_a.org)
    assert response.status_code == 302, response.context["adminform"].form.errors
    channel = Channel.objects.get()
    assert channel.kinds == ["daily_report", "test"]
    assert crypto.decrypt(channel.encrypted_secret) == WEBHOOK_URL
    assert "XXXXsecretXXXX" not in channel.encrypted_secret
    page = client.get(reverse("admin:notifications_channel_change", args=[channel.pk]))
    assert "XXXXsecretXXXX" not in page.content.decode()
    assert channel.masked in page.content.decode()
    # Saving without a secret keeps the stored one.
    response = _add(client, team_a.org, secret="", kinds=["test"])
    assert response.status_code == 200  # the name is taken: the form says so
    response = client.post(
        reverse("admin:notifications_channel_change", args=[channel.pk]),
        {"org": team_a.org.pk, "name": "Sales", "type": "slack_webhook", "kinds": ["test"],
         "secret": "", "slack_channel": "", "email_to": "", "active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.kinds == ["test"]
    assert crypto.decrypt(channel.encrypted_secret) == WEBHOOK_URL


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"secret": "https://evil.example/hook"}, "secret"),
        ({"secret": ""}, "secret"),
        ({"type": "slack_bot", "secret": "xoxb-1-2-3", "slack_channel": ""}, "slack_channel"),
        ({"type": "email", "secret": "", "email_to": "not an address"}, "email_to"),
    ],
)
def test_a_bad_channel_gets_a_clear_message_and_changes_nothing(client, team_a, overrides, field):
    client.force_login(team_a.owner)
    response = _add(client, team_a.org, **overrides)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Channel.objects.exists()


@responses.activate
def test_the_test_action_sends_and_reports(client, team_a, webhook_channel):
    responses.post(WEBHOOK_URL, body="ok")
    client.force_login(team_a.owner)
    response = client.post(
        reverse("admin:notifications_channel_changelist"),
        {"action": "send_test", "_selected_action": [webhook_channel.pk]},
        follow=True,
    )
    assert "Test message sent to Sales." in response.content.decode()
    assert Delivery.objects.get().status == Delivery.Status.SENT


def test_the_delivery_log_is_read_only(client, team_a):
    delivery = Delivery.objects.create(org=team_a.org, kind="test")
    client.force_login(team_a.owner)
    assert client.get(reverse("admin:notifications_delivery_changelist")).status_code == 200
    assert client.get(reverse("admin:notifications_delivery_add")).status_code == 403
    url = reverse("admin:notifications_delivery_change", args=[delivery.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"status": "sent"}).status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING


def test_managers_and_reps_have_no_notifications_admin(client, team_a, webhook_channel):
    for user in (team_a.manager, team_a.closer):
        client.force_login(user)
        response = client.get(reverse("admin:notifications_channel_changelist"))
        assert response.status_code == 302  # to the admin's sign-in: not staff
