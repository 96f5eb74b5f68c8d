"""notify(): Slack faked at the HTTP layer (responses), email in the locmem outbox."""

import json

import pytest
import responses
from django.core import mail

from apps.notifications.models import Channel, Delivery, Kind
from apps.notifications.services import channel_send_test, notify
from apps.orgs.models import AuditLog
from tests.apps.notifications.conftest import BOT_TOKEN, POST_MESSAGE, WEBHOOK_URL, make_channel

pytestmark = pytest.mark.django_db

PAYLOAD = {"org": "Org A", "provider": "close", "error": "HTTP 500 after 6 attempts", "url": ""}


def _send(org, fake_time, **kwargs):
    return notify(
        org=org,
        kind=Kind.SYNC_FAILED,
        payload=PAYLOAD,
        subject="close",
        period="2026-12-03",
        client_options=fake_time.options,
        **kwargs,
    )


@responses.activate
def test_a_webhook_channel_gets_block_kit_blocks_once_per_subject_and_period(
    team_a, webhook_channel, fake_time
):
    responses.post(WEBHOOK_URL, body="ok")
    first = _send(team_a.org, fake_time)
    again = _send(team_a.org, fake_time)

    assert len(responses.calls) == 1
    body = json.loads(responses.calls[0].request.body)
    assert body["text"] == "Org A: the close sync failed"
    assert body["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Org A: the close sync failed"},
    }
    assert "HTTP 500 after 6 attempts" in body["blocks"][1]["text"]["text"]
    assert "Authorization" not in responses.calls[0].request.headers
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.target) == (
        Delivery.Status.SENT,
        1,
        f"channel:{webhook_channel.pk}",
    )
    assert first.count(Delivery.Status.SENT) == 1
    assert (again.deliveries, again.skipped) == ([], 1)


@responses.activate
def test_a_429_waits_what_retry_after_says_then_posts(team_a, webhook_channel, fake_time):
    responses.post(WEBHOOK_URL, status=429, headers={"Retry-After": "7"}, body="rate_limited")
    responses.post(WEBHOOK_URL, body="ok")
    result = _send(team_a.org, fake_time)
    assert fake_time.sleeps == [7.0]
    assert len(responses.calls) == 2
    assert result.count(Delivery.Status.SENT) == 1


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (404, "no_service"),
        (404, "channel_not_found"),
        (403, "invalid_token"),
        (410, "channel_is_archived"),
    ],
)
@responses.activate
def test_a_revoked_webhook_is_marked_broken_and_the_admins_are_emailed(
    team_a, webhook_channel, fake_time, status, code
):
    responses.post(WEBHOOK_URL, status=status, body=code)
    result = _send(team_a.org, fake_time)

    webhook_channel.refresh_from_db()
    assert webhook_channel.broken_at is not None
    assert webhook_channel.broken_reason == code
    delivery = result.deliveries[0]
    assert delivery.status == Delivery.Status.FAILED
    assert code in delivery.error
    assert "XXXXsecretXXXX" not in delivery.error  # the URL is the secret
    # One email to each owner and admin of the org, nobody else.
    assert sorted(m.to[0] for m in mail.outbox) == sorted([team_a.owner.email, team_a.admin.email])
    alert = mail.outbox[0]
    assert "stopped working" in alert.subject and code in alert.body
    assert "/admin/notifications/channel/" in alert.alternatives[0][0]

    # A broken channel is left alone afterwards: nothing more is posted to it.
    notify(org=team_a.org, kind=Kind.SYNC_FAILED, payload=PAYLOAD, subject="close", period="x")
    assert len(responses.calls) == 1
    assert len(mail.outbox) == 2


@responses.activate
def test_saving_a_new_secret_repairs_a_broken_channel(team_a, webhook_channel, fake_time):
    from apps.notifications.services import channel_save

    responses.post(WEBHOOK_URL, status=404, body="no_service")
    _send(team_a.org, fake_time)
    webhook_channel.refresh_from_db()
    assert webhook_channel.broken_at is not None
    channel_save(channel=webhook_channel, secret=WEBHOOK_URL + "2", actor=team_a.owner)
    webhook_channel.refresh_from_db()
    assert (webhook_channel.broken_at, webhook_channel.broken_reason) == (None, "")
    assert webhook_channel.secret_hint == "XXX2"
    audit = AuditLog.objects.filter(action="notifications.channel_save").latest("pk")
    assert audit.actor == team_a.owner and audit.data["secret_changed"] is True
    assert "hooks.slack.com" not in json.dumps(audit.data)


@responses.activate
def test_a_slack_outage_is_recorded_for_a_retry_and_the_channel_stays_usable(
    team_a, webhook_channel, fake_time
):
    responses.post(WEBHOOK_URL, status=503)
    result = _send(team_a.org, fake_time)
    delivery = result.deliveries[0]
    assert delivery.status == Delivery.Status.RETRYING
    assert result.retry
    assert "HTTP 503" in delivery.error and "the incoming webhook" in delivery.error
    assert "XXXXsecretXXXX" not in delivery.error
    webhook_channel.refresh_from_db()
    assert webhook_channel.broken_at is None
    assert mail.outbox == []


@responses.activate
def test_a_bot_posts_to_its_channel_and_dms_with_its_token(team_a, bot_channel, fake_time):
    responses.post(POST_MESSAGE, json={"ok": True, "ts": "1.2"})
    result = notify(
        org=team_a.org,
        kind=Kind.PCF_OVERDUE,
        payload={"org": "Org A", "member": "Ann", "items": [["Mon 10:00 · Bob", "https://x/1"]]},
        subject="member-1",
        period="2026-12-03",
        dm=["U0ANN"],
        client_options=fake_time.options,
    )
    assert result.count(Delivery.Status.SENT) == 2
    sent = [json.loads(c.request.body) for c in responses.calls]
    assert [b["channel"] for b in sent] == ["C0SALES", "U0ANN"]
    assert all(c.request.headers["Authorization"] == f"Bearer {BOT_TOKEN}" for c in responses.calls)
    assert "<https://x/1|Mon 10:00 · Bob>" in json.dumps(sent[1]["blocks"], ensure_ascii=False)


@responses.activate
def test_a_revoked_bot_token_breaks_the_channel_but_a_wrong_dm_user_does_not(
    team_a, bot_channel, fake_time
):
    responses.post(POST_MESSAGE, json={"ok": True})
    responses.post(POST_MESSAGE, json={"ok": False, "error": "channel_not_found"})
    payload = {"org": "Org A", "member": "Ann", "items": []}
    result = notify(
        org=team_a.org,
        kind=Kind.PCF_OVERDUE,
        payload=payload,
        subject="m",
        period="p",
        dm=["U0WRONG"],
        client_options=fake_time.options,
    )
    assert [d.status for d in result.deliveries] == [Delivery.Status.SENT, Delivery.Status.FAILED]
    bot_channel.refresh_from_db()
    assert bot_channel.broken_at is None

    responses.replace(responses.POST, POST_MESSAGE, json={"ok": False, "error": "token_revoked"})
    notify(
        org=team_a.org, kind=Kind.PCF_OVERDUE, payload=payload, subject="m", period="q",
        client_options=fake_time.options,
    )  # fmt: skip
    bot_channel.refresh_from_db()
    assert bot_channel.broken_reason == "token_revoked"
    assert len(mail.outbox) == 2  # the owner and the admin


def test_an_email_channel_gets_text_and_html(team_a, fake_time):
    make_channel(
        team_a.org,
        kinds=[Kind.SYNC_FAILED],
        type=Channel.Type.EMAIL,
        name="Ops mail",
        email_to="ops@a.example, boss@a.example",
    )
    _send(team_a.org, fake_time)
    (message,) = mail.outbox
    assert message.to == ["ops@a.example", "boss@a.example"]
    assert message.subject == "Org A: the close sync failed"
    assert "HTTP 500 after 6 attempts" in message.body
    html = message.alternatives[0][0]
    assert "<h2>Org A: the close sync failed</h2>" in html


def test_other_orgs_channels_are_never_used(team_a, team_b, fake_time):
    make_channel(
        team_b.org, kinds=[Kind.SYNC_FAILED], type=Channel.Type.EMAIL, email_to="b@b.example"
    )
    result = _send(team_a.org, fake_time)
    assert result.deliveries == [] and mail.outbox == []


@responses.activate
def test_the_test_action_posts_to_that_channel_only_and_is_audited(
    team_a, webhook_channel, fake_time
):
    make_channel(team_a.org, kinds=[Kind.TEST], name="Other")
    responses.post(WEBHOOK_URL, body="ok")
    delivery = channel_send_test(
        channel=webhook_channel, actor=team_a.owner, client_options=fake_time.options
    )
    assert delivery.status == Delivery.Status.SENT
    assert len(responses.calls) == 1
    assert "The channel Sales works" in responses.calls[0].request.body.decode()
    assert AuditLog.objects.filter(
        org=team_a.org, action="notifications.channel_test", target_id=str(webhook_channel.pk)
    ).exists()
