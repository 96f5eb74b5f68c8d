"""The webhook endpoint: every answer code of issue 4, and nothing written on a rejection."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from apps.contacts.models import Contact
from apps.integrations import webhooks
from apps.integrations.models import Credential, WebhookEvent
from apps.integrations.providers import provider_named
from apps.integrations.services import credential_set
from apps.meetings.models import Meeting
from tests.apps.integrations.webhook_support import (
    SAMPLES,
    SECRETS,
    deliver,
    encode,
    set_secrets,
    sign,
    url,
)
from tests.attribution.sources.conftest import load_fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(team_a):
    set_secrets(team_a.org)
    return team_a.org


@pytest.fixture
def enqueued():
    """The ids the endpoint hands to Celery (processing itself is tested elsewhere)."""
    with mock.patch.object(webhooks, "_enqueue") as enqueue:
        yield enqueue


def _nothing_written(org):
    assert not WebhookEvent.objects.filter(org=org).exists()
    assert not Contact.objects.filter(org=org).exists()
    assert not Meeting.objects.filter(org=org).exists()


def _rejected(org, provider) -> int:
    return webhooks.rejected_count(org=org, provider=provider, day=timezone.now().date())


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


# --- acceptance 1: every provider's events, signed the provider's way --------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.id)
def test_it_stores_and_enqueues_a_signed_delivery_of_each_event_type(
    client, org, enqueued, sample, django_capture_on_commit_callbacks
):
    payload = sample.build()
    body = encode(payload)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(sample.provider, org.slug),
            data=body,
            content_type="application/json",
            headers=sign(sample.provider, body),
        )
    assert response.status_code == 200, response.content
    assert response.json() == {"ok": True}
    event = WebhookEvent.objects.get(org=org, provider=sample.provider)
    assert bytes(event.body) == body  # the raw bytes, never re-serialised
    assert event.status == WebhookEvent.Status.PENDING
    assert event.event_id
    enqueued.assert_called_once_with(event.pk)
    # The signature headers are kept with the delivery for people debugging it.
    assert set(event.headers) >= set(provider_named(sample.provider).kept_headers)


def test_each_provider_keys_the_inbox_by_its_own_event_id(client, org, enqueued):
    deliver(client, "stripe", org.slug, load_fixture("stripe/charge.succeeded"))
    deliver(client, "close", org.slug, load_fixture("close/contact.created"))
    deliver(client, "typeform", org.slug, load_fixture("typeform/form_response"))
    whop = load_fixture("whop/payment.succeeded")
    deliver(client, "whop", org.slug, whop, msg_id="msg_from_the_header")
    deliver(client, "calendly", org.slug, load_fixture("calendly/invitee.created"))
    ids = dict(WebhookEvent.objects.filter(org=org).values_list("provider", "event_id"))
    assert ids["stripe"] == "evt_chach_SA0000"
    assert ids["close"] == "ev_c0000"
    assert ids["typeform"] == "EVtok000097165"
    assert ids["whop"] == "msg_from_the_header"  # webhook-id, the spec's idempotency key
    assert len(ids["calendly"]) == 64  # derived: Calendly sends no delivery id


def test_an_event_type_we_do_not_process_is_acknowledged_and_kept(client, org, enqueued):
    payload = load_fixture("stripe/charge.succeeded")
    payload.update(id="evt_customer", type="customer.created")
    response = deliver(client, "stripe", org.slug, payload)
    assert response.status_code == 200
    assert WebhookEvent.objects.get(org=org).event_type == "customer.created"


# --- duplicates ------------------------------------------------------------------------------


def test_a_duplicate_delivery_is_acknowledged_and_writes_nothing(client, org, enqueued):
    payload = load_fixture("calendly/invitee.created")
    first = deliver(client, "calendly", org.slug, payload)
    # A retry signs again with a later timestamp: the same delivery all the same.
    second = deliver(client, "calendly", org.slug, payload, timestamp=int(time.time()) + 5)
    assert first.status_code == second.status_code == 200
    assert second.json() == {"ok": True, "duplicate": True}
    assert WebhookEvent.objects.filter(org=org).count() == 1


def test_the_same_event_id_in_two_orgs_is_two_events(client, org, team_b, enqueued):
    set_secrets(team_b.org)
    payload = load_fixture("stripe/charge.succeeded")
    assert deliver(client, "stripe", org.slug, payload).status_code == 200
    assert deliver(client, "stripe", team_b.org.slug, payload).status_code == 200
    assert WebhookEvent.objects.filter(event_id="evt_chach_SA0000").count() == 2


# --- acceptance 2: rejections ------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["calendly", "typeform", "close", "stripe", "whop"])
def test_a_wrong_secret_is_401_and_only_counted(client, org, enqueued, provider):
    sample = next(s for s in SAMPLES if s.provider == provider)
    wrong = {"close": "ffeeddcc" * 8}.get(provider, "not-the-secret")
    response = deliver(client, provider, org.slug, sample.build(), secret=wrong)
    assert response.status_code == 401
    assert response.json() == {"error": "signature mismatch"}
    assert _rejected(org, provider) == 1
    _nothing_written(org)
    enqueued.assert_not_called()


@pytest.mark.parametrize("provider", ["calendly", "typeform", "close", "stripe", "whop"])
def test_a_missing_signature_is_401(client, org, enqueued, provider):
    response = client.post(
        url(provider, org.slug), data=b'{"id": "x"}', content_type="application/json"
    )
    assert response.status_code == 401
    assert response.json() == {"error": "signature missing"}
    _nothing_written(org)


@pytest.mark.parametrize("provider", ["calendly", "close", "stripe", "whop"])
def test_a_stale_timestamp_is_401(client, org, enqueued, provider):
    sample = next(s for s in SAMPLES if s.provider == provider)
    ten_minutes_ago = int(time.time()) - 600
    response = deliver(client, provider, org.slug, sample.build(), timestamp=ten_minutes_ago)
    assert response.status_code == 401
    assert response.json() == {"error": "signature stale"}
    _nothing_written(org)
    assert _rejected(org, provider) == 1


def test_a_timestamp_from_the_future_is_as_stale(client, org, enqueued):
    payload = load_fixture("calendly/invitee.created")
    response = deliver(client, "calendly", org.slug, payload, timestamp=int(time.time()) + 600)
    assert response.status_code == 401
    _nothing_written(org)


def test_a_tampered_body_is_401(client, org, enqueued):
    body = encode(load_fixture("stripe/charge.succeeded"))
    headers = sign("stripe", body)
    tampered = body.replace(b"250000", b"999999")
    response = client.post(
        url("stripe", org.slug), data=tampered, content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    _nothing_written(org)


def test_without_a_stored_secret_nothing_is_accepted(client, team_b, enqueued):
    response = deliver(client, "stripe", team_b.org.slug, load_fixture("stripe/charge.succeeded"))
    assert response.status_code == 401
    assert "no usable secret" in response.json()["error"]
    assert not WebhookEvent.objects.exists()


def test_another_orgs_secret_does_not_open_this_org(client, org, team_b, enqueued):
    set_secrets(team_b.org, {"stripe": "whsec_org_b_secret"})
    payload = load_fixture("stripe/charge.succeeded")
    response = deliver(client, "stripe", org.slug, payload, secret="whsec_org_b_secret")
    assert response.status_code == 401
    _nothing_written(org)


@pytest.mark.parametrize("provider", ["calendly", "typeform", "close", "stripe", "whop"])
def test_a_body_that_is_not_json_is_400(client, org, enqueued, provider):
    response = deliver(client, provider, org.slug, b"event=invitee.created&x=1", msg_id="msg_1")
    assert response.status_code == 400
    assert response.json() == {"error": "body is not valid JSON"}
    _nothing_written(org)


@pytest.mark.parametrize(
    ("provider", "payload", "field"),
    [
        ("calendly", {"event": "invitee.created", "payload": {"email": "a@b.co"}}, "uri"),
        ("calendly", {"payload": {}}, "event"),
        ("typeform", {"event_id": "e1", "event_type": "form_response"}, "form_response"),
        ("close", {"subscription_id": "s", "event": {"object_type": "lead"}}, "id"),
        ("stripe", {"id": "evt_1", "type": "charge.succeeded", "created": 1}, "data"),
        ("whop", {"id": "msg_1", "type": "payment.succeeded"}, "timestamp"),
    ],
)
def test_a_body_lacking_what_the_provider_always_sends_is_400_naming_it(
    client, org, enqueued, provider, payload, field
):
    response = deliver(client, provider, org.slug, payload)
    assert response.status_code == 400
    assert field in response.json()["error"]
    _nothing_written(org)


def test_a_json_array_is_400(client, org, enqueued):
    response = deliver(client, "stripe", org.slug, b"[1, 2]")
    assert response.status_code == 400
    _nothing_written(org)


@override_settings(WEBHOOK_MAX_BODY_BYTES=2048)
def test_an_oversize_body_is_413(client, org, enqueued):
    payload = load_fixture("stripe/charge.succeeded")
    payload["data"]["object"]["metadata"] = {"padding": "x" * 4096}
    response = deliver(client, "stripe", org.slug, payload)
    assert response.status_code == 413
    _nothing_written(org)
    # Just under the limit goes through: the limit is a size, not "anything with metadata".
    payload["data"]["object"]["metadata"] = {"padding": "x" * 100}
    assert deliver(client, "stripe", org.slug, payload).status_code == 200


def test_the_default_limit_is_one_megabyte(client, org, enqueued, settings):
    assert settings.WEBHOOK_MAX_BODY_BYTES == 1024 * 1024
    payload = load_fixture("stripe/charge.succeeded")
    payload["data"]["object"]["metadata"] = {"padding": "x" * (1024 * 1024)}
    assert deliver(client, "stripe", org.slug, payload).status_code == 413
    _nothing_written(org)


def test_an_unknown_org_is_404(client, org, enqueued):
    response = deliver(client, "stripe", "no-such-org", load_fixture("stripe/charge.succeeded"))
    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()


def test_an_unknown_provider_is_404(client, org, enqueued):
    response = client.post(url("paypal", org.slug), data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()


def test_only_post_is_allowed(client, org):
    assert client.get(url("stripe", org.slug)).status_code == 405


def test_no_session_or_csrf_token_is_needed(org, enqueued):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = deliver(strict, "stripe", org.slug, load_fixture("stripe/charge.succeeded"))
    assert response.status_code == 200


# --- secret rotation -------------------------------------------------------------------------


def test_during_a_rotation_both_secrets_verify_until_the_grace_ends(client, org, enqueued):
    credential_set(
        org=org, provider="stripe", name="webhook_secret", value="whsec_new_one", actor=None
    )
    old = load_fixture("stripe/charge.succeeded")
    new = load_fixture("stripe/payment_intent.succeeded")
    assert deliver(client, "stripe", org.slug, old, secret=SECRETS["stripe"]).status_code == 200
    assert deliver(client, "stripe", org.slug, new, secret="whsec_new_one").status_code == 200
    grace_end = Credential.objects.get(org=org, provider="stripe").previous_until
    late = load_fixture("stripe/refund.created")
    with time_machine.travel(grace_end + timedelta(seconds=1)):
        signed = deliver(client, "stripe", org.slug, late, secret=SECRETS["stripe"])
    assert signed.status_code == 401


def test_no_secret_reaches_a_response_or_the_log(client, org, enqueued, caplog):
    response = deliver(
        client, "calendly", org.slug, load_fixture("calendly/invitee.created"), secret="nope"
    )
    assert response.status_code == 401
    for secret in SECRETS.values():
        assert secret not in response.content.decode()
        assert secret not in caplog.text
    assert "calendly" in caplog.text  # the rejection itself is logged


def test_a_whop_delivery_checks_the_id_it_is_signed_with(client, org, enqueued):
    body = encode(load_fixture("whop/payment.succeeded"))
    headers = sign("whop", body, msg_id="msg_signed")
    headers["webhook-id"] = "msg_swapped"
    response = client.post(
        url("whop", org.slug), data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    _nothing_written(org)


def test_a_typeform_delivery_needs_no_timestamp(client, org, enqueued):
    payload = load_fixture("typeform/form_response")
    response = deliver(client, "typeform", org.slug, payload)
    assert response.status_code == 200
    stored = json.loads(bytes(WebhookEvent.objects.get(org=org).body))
    assert stored == payload


def test_a_close_key_that_is_not_hex_verifies_nothing(client, team_b, enqueued):
    credential_set(
        org=team_b.org,
        provider="close",
        name="webhook_signature_key",
        value="not-a-hex-key",
        actor=None,
    )
    body = encode(load_fixture("close/contact.created"))
    headers = sign("close", body)  # signed with a real key: still refused, and no 500
    response = client.post(
        url("close", team_b.org.slug), data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    assert "not-a-hex-key" not in response.content.decode()
    assert not WebhookEvent.objects.exists()
