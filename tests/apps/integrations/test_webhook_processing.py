"""Processing an inbox row: retries with backoff and jitter, final failure, replay, requeue."""

from __future__ import annotations

import random
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from apps.integrations import tasks, webhooks
from apps.integrations.models import WebhookEvent
from apps.meetings.models import Meeting
from apps.orgs.models import AuditLog
from tests.apps.integrations.webhook_support import deliver, set_secrets
from tests.attribution.sources.conftest import load_fixture

pytestmark = pytest.mark.django_db
_real_enqueue = webhooks._enqueue

INVITEE = "https://api.calendly.com/scheduled_events/SE00004/invitees/IN00004"
BARE_NO_SHOW = {
    "event": "invitee_no_show.created",
    "created_at": "2026-03-31T17:00:00.000000Z",
    "payload": {
        "uri": "https://api.calendly.com/invitee_no_shows/NS4",
        "invitee": INVITEE,
        "created_at": "2026-03-31T17:00:00.000000Z",
    },
}


@pytest.fixture
def org(team_a):
    set_secrets(team_a.org)
    return team_a.org


@pytest.fixture(autouse=True)
def worker_retries():
    """Eager Celery raises a retry instead of running it; apply() runs the whole chain, as a
    worker would (countdowns are not waited for)."""

    def enqueue(pk):
        tasks.process_webhook_event.apply(args=[pk])

    conf = tasks.process_webhook_event.app.conf
    # Each retry is applied with the app's default; propagating would stop the chain at once.
    propagates, conf.task_eager_propagates = conf.task_eager_propagates, False
    try:
        with mock.patch.object(webhooks, "_enqueue", side_effect=enqueue) as patched:
            yield patched
    finally:
        conf.task_eager_propagates = propagates


@pytest.fixture
def send(client, org, django_capture_on_commit_callbacks):
    def _send(provider: str, payload: dict, **kw):
        with django_capture_on_commit_callbacks(execute=True):
            response = deliver(client, provider, org.slug, payload, **kw)
        assert response.status_code == 200, response.content
        return response

    return _send


def test_the_delay_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(4)
    for retries in range(12):
        ceiling = min(webhooks.RETRY_CAP_SECONDS, webhooks.RETRY_BASE_SECONDS * 2**retries)
        delays = {webhooks.retry_delay(retries, rng=rng) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered: deliveries failing together do not retry together
    assert webhooks.retry_delay(30, rng=rng) <= webhooks.RETRY_CAP_SECONDS


def test_a_failing_event_is_retried_with_backoff_then_failed_with_its_error(send, org):
    countdowns = []
    real_retry = tasks.process_webhook_event.retry

    def spy(*args, **kwargs):
        countdowns.append(kwargs["countdown"])
        return real_retry(*args, **kwargs)

    # A no-show for an invitee we have never seen cannot be applied yet.
    with mock.patch.object(tasks.process_webhook_event, "retry", side_effect=spy):
        send("calendly", BARE_NO_SHOW)
    event = WebhookEvent.objects.get(org=org)
    assert event.status == WebhookEvent.Status.FAILED
    assert event.attempts == webhooks.MAX_ATTEMPTS
    assert "MeetingNotYetKnown" in event.error and INVITEE in event.error
    assert event.processed_at is None
    assert len(countdowns) == webhooks.MAX_ATTEMPTS - 1
    assert countdowns[-1] > countdowns[0]
    assert not Meeting.objects.exists()


def test_a_stored_body_that_cannot_parse_is_ignored_with_its_reason_and_writes_nothing(org):
    # Stored before the endpoint refused such bodies: no retry can make it parse (issue 17).
    event = WebhookEvent.objects.create(
        org=org,
        provider="calendly",
        event_id="e1",
        event_type="invitee.created",
        body=b'{"event": "invitee.created", "payload": {"uri": "u"}}',
    )
    assert webhooks.webhook_event_process(event_pk=event.pk) == "skipped"
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.error == "ignored: calendly.payload.scheduled_event.uri is missing"
    assert event.attempts == 1
    assert not Meeting.objects.exists()


def test_a_transient_failure_leaves_the_event_pending_for_its_retry(org):
    event = WebhookEvent.objects.create(
        org=org,
        provider="calendly",
        event_id="e2",
        event_type="invitee_no_show.created",
        body=__import__("json").dumps(BARE_NO_SHOW).encode(),
    )
    with pytest.raises(LookupError):
        webhooks.webhook_event_process(event_pk=event.pk, final=False)
    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookEvent.Status.PENDING, 1)


def test_a_processed_event_is_not_processed_again(send, org):
    send("calendly", load_fixture("calendly/invitee.created"))
    event = WebhookEvent.objects.get(org=org)
    with mock.patch.object(webhooks, "ingest_record") as ingest:
        assert webhooks.webhook_event_process(event_pk=event.pk) is None
        tasks.process_webhook_event.apply(args=[event.pk])
    ingest.assert_not_called()
    event.refresh_from_db()
    assert event.attempts == 1


def test_an_unsupported_event_is_processed_as_skipped(send, org):
    payload = load_fixture("stripe/charge.succeeded")
    payload.update(id="evt_customer", type="customer.created")
    send("stripe", payload)
    event = WebhookEvent.objects.get(org=org)
    assert event.status == WebhookEvent.Status.PROCESSED


# --- acceptance 6: replay from admin ---------------------------------------------------------


def _replay_in_admin(client, user, events, django_capture_on_commit_callbacks):
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(
            reverse("admin:integrations_webhookevent_changelist"),
            {"action": "replay", ACTION_CHECKBOX_NAME: [e.pk for e in events]},
            follow=True,
        )


def test_a_failed_event_replayed_from_admin_is_processed_once_it_can_succeed(
    send, org, team_a, client, django_capture_on_commit_callbacks
):
    send("calendly", BARE_NO_SHOW)
    failed = WebhookEvent.objects.get(org=org, status=WebhookEvent.Status.FAILED)
    # Replayed too early, it fails again: visible, not lost.
    _replay_in_admin(client, team_a.admin, [failed], django_capture_on_commit_callbacks)
    failed.refresh_from_db()
    assert failed.status == WebhookEvent.Status.FAILED
    # The booking arrives; now the replay can succeed.
    booking = load_fixture("calendly/invitee_no_show.created")
    booking["event"] = "invitee.created"
    booking["payload"]["no_show"] = None
    send("calendly", booking)
    response = _replay_in_admin(client, team_a.admin, [failed], django_capture_on_commit_callbacks)
    assert "Replayed 1 event" in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == WebhookEvent.Status.PROCESSED
    assert failed.error == ""
    meeting = Meeting.objects.get(org=org, external_id=INVITEE)
    assert meeting.no_show_marked_at is not None
    assert AuditLog.objects.filter(org=org, action="webhook.replay").count() == 2


def test_replaying_a_processed_event_does_nothing(
    send, org, team_a, client, django_capture_on_commit_callbacks
):
    send("calendly", load_fixture("calendly/invitee.created"))
    event = WebhookEvent.objects.get(org=org)
    with mock.patch.object(webhooks, "ingest_record") as ingest:
        response = _replay_in_admin(
            client, team_a.owner, [event], django_capture_on_commit_callbacks
        )
    assert "already processed left alone" in response.content.decode()
    ingest.assert_not_called()


def test_an_admin_of_another_org_cannot_replay_this_orgs_events(
    send, org, team_b, client, django_capture_on_commit_callbacks, worker_retries
):
    send("calendly", BARE_NO_SHOW)
    event = WebhookEvent.objects.get(org=org)
    worker_retries.reset_mock()
    _replay_in_admin(client, team_b.owner, [event], django_capture_on_commit_callbacks)
    worker_retries.assert_not_called()
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED


def test_the_admin_shows_the_payload_to_the_orgs_admins_only(send, org, team_a, team_b, client):
    send("typeform", load_fixture("typeform/form_response"))
    event = WebhookEvent.objects.get(org=org)
    url = reverse("admin:integrations_webhookevent_change", args=[event.pk])
    client.force_login(team_a.admin)
    assert "SAMPLE0.PERSON@GMAIL.COM" in client.get(url).content.decode()
    for user in (team_a.manager, team_a.closer, team_a.viewer):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code in (302, 403, 404)
        assert "SAMPLE0.PERSON" not in response.content.decode()
    client.force_login(team_b.owner)
    assert client.get(url).status_code == 404


def test_the_admin_filters_the_inbox_by_status_and_provider(send, org, team_a, client):
    send("calendly", BARE_NO_SHOW)
    send("typeform", load_fixture("typeform/form_response"))
    client.force_login(team_a.admin)
    changelist = reverse("admin:integrations_webhookevent_changelist")
    failed = client.get(changelist, {"status__exact": "failed"}).context["cl"].result_list
    assert [e.provider for e in failed] == ["calendly"]
    typeform = client.get(changelist, {"provider__exact": "typeform"}).context["cl"].result_list
    assert [e.status for e in typeform] == ["processed"]


# --- the inbox is the outbox ------------------------------------------------------------------


def test_pending_rows_the_queue_lost_are_enqueued_again(org):
    def row(event_id, *, age, attempts=0, status=WebhookEvent.Status.PENDING):
        event = WebhookEvent.objects.create(
            org=org, provider="stripe", event_id=event_id, body=b"{}", status=status
        )
        WebhookEvent.objects.filter(pk=event.pk).update(
            received_at=timezone.now() - age, attempts=attempts
        )
        return event

    lost = row("lost", age=timedelta(minutes=10))
    row("fresh", age=timedelta(seconds=30))
    row("retrying", age=timedelta(minutes=30), attempts=2)
    stuck = row("stuck", age=timedelta(hours=3), attempts=3)
    row("done", age=timedelta(hours=1), status=WebhookEvent.Status.PROCESSED)
    row("failed", age=timedelta(hours=1), status=WebhookEvent.Status.FAILED)
    with mock.patch.object(webhooks, "_enqueue") as enqueue:
        assert tasks.requeue_stale_webhook_events.apply().get() == 2
    assert sorted(c.args[0] for c in enqueue.call_args_list) == sorted([lost.pk, stuck.pk])
    # A long backlog is not re-sent whole at every sweep: a batch, oldest first.
    with mock.patch.object(webhooks, "_enqueue") as enqueue:
        assert webhooks.webhook_events_requeue(limit=1) == 1
    enqueue.assert_called_once_with(stuck.pk)


def test_a_broker_outage_at_enqueue_still_answers_200_and_keeps_the_row(
    client, org, django_capture_on_commit_callbacks, worker_retries
):
    with (
        mock.patch.object(webhooks, "_enqueue", new=_real_enqueue),
        mock.patch.object(
            tasks.process_webhook_event, "delay", side_effect=ConnectionError("redis down")
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = deliver(client, "stripe", org.slug, load_fixture("stripe/charge.succeeded"))
    assert response.status_code == 200
    assert WebhookEvent.objects.get(org=org).status == WebhookEvent.Status.PENDING
