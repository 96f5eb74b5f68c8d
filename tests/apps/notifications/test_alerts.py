"""Alerts: a failed sync, a refused credential, rejected webhooks above a threshold and an
inbox backlog each reach the subscribed channels once."""

from datetime import timedelta

import pytest
import responses
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from apps.integrations.models import WebhookEvent
from apps.integrations.services import credential_set
from apps.integrations.sync import sync_run
from apps.integrations.webhooks import rejected_counter_key
from apps.notifications.models import Channel, Delivery, Kind, NotificationSettings
from apps.notifications.services import ops_alerts_check
from apps.notifications.tasks import notifications_tick_task
from tests.apps.notifications.conftest import make_channel

pytestmark = pytest.mark.django_db

CALENDLY = "https://api.calendly.com"
TOKEN = "cal_token_never_logged_1234"
NO_WAIT = {"rate_per_second": 1e9, "sleep": lambda s: None, "max_retries": 1}


@pytest.fixture
def ops_mail(team_a):
    return make_channel(
        team_a.org,
        kinds=[
            Kind.SYNC_FAILED,
            Kind.CREDENTIAL_REFUSED,
            Kind.WEBHOOK_REJECTIONS,
            Kind.INBOX_BACKLOG,
        ],
        type=Channel.Type.EMAIL,
        name="Ops",
        email_to="ops@a.example",
    )


@pytest.fixture
def calendly(team_a):
    credential_set(org=team_a.org, provider="calendly", name="api_token", value=TOKEN, actor=None)
    return team_a.org


def test_a_failed_sync_is_announced_once_a_day(
    team_a, calendly, ops_mail, django_capture_on_commit_callbacks
):
    for _ in range(2):  # the nightly run and its retry, the same day
        with responses.RequestsMock() as rsps, django_capture_on_commit_callbacks(execute=True):
            rsps.get(f"{CALENDLY}/users/me", status=503)
            run = sync_run(org=team_a.org, provider="calendly", client_options=NO_WAIT)
        assert run.status == "failed"
    (message,) = mail.outbox
    assert message.subject == f"{team_a.org.name}: the calendly sync failed"
    assert "HTTP 503" in message.body and TOKEN not in message.body
    assert "/integrations/" in message.body


def test_a_refused_credential_is_its_own_alert(
    team_a, calendly, ops_mail, django_capture_on_commit_callbacks
):
    with responses.RequestsMock() as rsps, django_capture_on_commit_callbacks(execute=True):
        rsps.get(f"{CALENDLY}/users/me", status=401, json={"title": "Unauthenticated"})
        sync_run(org=team_a.org, provider="calendly", client_options=NO_WAIT)
    (message,) = mail.outbox
    assert message.subject == f"{team_a.org.name}: calendly refused the saved credential"
    assert "paused until someone saves a new key" in message.body
    assert TOKEN not in message.body


def test_a_successful_sync_or_an_unsubscribed_org_sends_nothing(
    team_a, calendly, django_capture_on_commit_callbacks
):
    make_channel(
        team_a.org, kinds=[Kind.DAILY_REPORT], type=Channel.Type.EMAIL, email_to="x@a.example"
    )
    with responses.RequestsMock() as rsps, django_capture_on_commit_callbacks(execute=True):
        rsps.get(f"{CALENDLY}/users/me", status=503)
        sync_run(org=team_a.org, provider="calendly", client_options=NO_WAIT)
    assert mail.outbox == []
    assert not Delivery.objects.exists()


def test_webhook_rejections_above_the_threshold_alert_once_per_provider_and_day(team_a, ops_mail):
    NotificationSettings.objects.create(org=team_a.org, webhook_rejection_threshold=5)
    today = timezone.now().date()
    key = rejected_counter_key(org_id=team_a.org.pk, provider="stripe", day=today)
    cache.set(key, 5)
    cache.set(rejected_counter_key(org_id=team_a.org.pk, provider="close", day=today), 2)
    ops_alerts_check(org=team_a.org)
    assert mail.outbox == []  # five is not more than five
    cache.set(key, 6)
    ops_alerts_check(org=team_a.org)
    cache.set(key, 60)
    ops_alerts_check(org=team_a.org)
    (message,) = mail.outbox
    assert message.subject == f"{team_a.org.name}: 6 stripe webhooks rejected today"
    assert "More than 5 deliveries" in message.body


def test_an_inbox_backlog_older_than_the_limit_alerts_once_an_hour(team_a, team_b, ops_mail):
    NotificationSettings.objects.create(org=team_a.org, inbox_backlog_minutes=30)
    now = timezone.now()
    event = WebhookEvent.objects.create(
        org=team_a.org, provider="stripe", event_id="evt_1", body=b"{}"
    )
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=now - timedelta(minutes=20))
    # Org B's older backlog is org B's business.
    other = WebhookEvent.objects.create(org=team_b.org, provider="stripe", event_id="e", body=b"{}")
    WebhookEvent.objects.filter(pk=other.pk).update(received_at=now - timedelta(hours=5))
    ops_alerts_check(org=team_a.org, now=now)
    assert mail.outbox == []
    ops_alerts_check(org=team_a.org, now=now + timedelta(minutes=15))
    ops_alerts_check(org=team_a.org, now=now + timedelta(minutes=16))
    (message,) = mail.outbox
    assert "webhooks waiting 35 minutes" in message.subject
    assert "1 webhook event(s) are pending" in message.body


def test_the_beat_tick_runs_the_checks_of_subscribed_orgs(team_a, ops_mail):
    cache.set(
        rejected_counter_key(org_id=team_a.org.pk, provider="whop", day=timezone.now().date()), 99
    )
    assert notifications_tick_task.delay().get() == 1
    assert [m.subject for m in mail.outbox] == [
        f"{team_a.org.name}: 99 whop webhooks rejected today"
    ]


def test_an_alert_that_cannot_be_sent_never_breaks_the_sync(
    team_a, calendly, ops_mail, monkeypatch
):
    from apps.notifications import services

    def broken(**kwargs):
        raise RuntimeError("the alert path is down")

    monkeypatch.setattr(services, "subscribed_channels", broken)
    with responses.RequestsMock() as rsps:
        rsps.get(f"{CALENDLY}/users/me", status=503)
        run = sync_run(org=team_a.org, provider="calendly", client_options=NO_WAIT)
    assert run.status == "failed" and "HTTP 503" in run.error
