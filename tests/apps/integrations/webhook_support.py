"""Signed deliveries for the webhook tests: every provider's sample, signed as INTEGRATIONS.md says.

Signing uses the provider's own scheme (attribution.signatures.sign_*, which for Stripe and Whop
call the `stripe` and `standardwebhooks` packages), never the code under test's verification.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from apps.integrations.services import credential_set
from attribution import signatures as sig
from tests.attribution.sources.conftest import load_fixture

SECRETS = {
    "calendly": "cal-signing-key-7Hq2",
    "typeform": "tf-secret-x9P1",
    "close": "0a1b2c3d4e5f6a7b" * 4,  # Close hands out a hex signature_key
    "stripe": "whsec_test_Zk3pV8mQ",
    "whop": "ws_raw_secret_4Lm0",  # Whop's secret is used as raw bytes
}
SECRET_NAMES = {
    "calendly": "signing_key",
    "typeform": "webhook_secret",
    "close": "webhook_signature_key",
    "stripe": "webhook_secret",
    "whop": "webhook_secret",
}


def set_secrets(org, secrets: dict[str, str] | None = None) -> None:
    for provider, value in (secrets or SECRETS).items():
        credential_set(
            org=org, provider=provider, name=SECRET_NAMES[provider], value=value, actor=None
        )


def sign(
    provider: str,
    body: bytes,
    *,
    secret: str | None = None,
    timestamp: int | None = None,
    msg_id: str | None = None,
) -> dict[str, str]:
    secret = secret or SECRETS[provider]
    ts = int(time.time()) if timestamp is None else timestamp
    if provider == "calendly":
        return sig.sign_calendly(secret=secret, body=body, timestamp=ts)
    if provider == "typeform":
        return sig.sign_typeform(secret=secret, body=body)
    if provider == "close":
        return sig.sign_close(signature_key=secret, body=body, timestamp=ts)
    if provider == "stripe":
        return sig.sign_stripe(secret=secret, body=body, timestamp=ts)
    if msg_id is None:
        msg_id = json.loads(body).get("id") or "msg_test"
    return sig.sign_whop(secret=secret, body=body, msg_id=msg_id, timestamp=ts)


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def url(provider: str, slug: str) -> str:
    return reverse("webhooks:receive", kwargs={"provider": provider, "org_slug": slug})


def deliver(client, provider: str, slug: str, payload: dict | bytes, **sign_kw):
    body = payload if isinstance(payload, bytes) else encode(payload)
    headers = sign(provider, body, **sign_kw)
    return client.post(
        url(provider, slug), data=body, content_type="application/json", headers=headers
    )


# --- one sample per event type the issue lists ------------------------------------------------


def _no_show_deleted() -> dict:
    payload = load_fixture("calendly/invitee_no_show.created")
    payload["event"] = "invitee_no_show.deleted"
    payload["created_at"] = "2026-03-31T18:00:00.000000Z"
    payload["payload"]["no_show"] = None
    return payload


def _close_lead(action: str) -> dict:
    contact = load_fixture("close/contact.created")
    data = contact["event"]["data"]
    envelope = contact
    envelope["event"].update(
        id=f"ev_lead_{action}",
        object_type="lead",
        action=action,
        changed_fields=["status_label"] if action == "updated" else [],
        data={
            "id": "lead_SA0000",
            "display_name": "Marsh Consulting",
            "status_label": "Qualified" if action == "updated" else "Potential",
            "date_created": "2026-03-02T16:00:00.000000+00:00",
            "date_updated": "2026-03-02T17:00:00.000000+00:00",
            "contacts": [data],
        },
    )
    return envelope


def _close_contact_updated() -> dict:
    envelope = load_fixture("close/contact.created")
    envelope["event"].update(id="ev_c0001", action="updated", changed_fields=["phones"])
    envelope["event"]["data"]["phones"].append({"phone": "+14155551999", "type": "office"})
    return envelope


def _close_opportunity_created() -> dict:
    envelope = load_fixture("close/opportunity.updated")
    envelope["event"].update(id="ev_o0001", action="created", changed_fields=[], previous_data={})
    envelope["event"]["data"].update(status_type="active", status_label="Active", date_won=None)
    return envelope


def _close_lead_merged() -> dict:
    envelope = load_fixture("close/contact.created")
    envelope["event"].update(
        id="ev_merge_0001",
        object_type="lead",
        action="merged",
        lead_id="lead_SA0000",
        data={},
        meta={"merge_source_lead_id": "lead_SB0001", "merge_destination_lead_id": "lead_SA0000"},
    )
    return envelope


def _stripe_checkout() -> dict:
    envelope = load_fixture("stripe/payment_intent.succeeded")
    envelope.update(id="evt_cs_SA0000", type="checkout.session.completed")
    envelope["data"]["object"] = {
        "id": "cs_test_SA0000",
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "status": "complete",
        "amount_total": 250000,
        "currency": "usd",
        "created": 1772906300,
        "payment_intent": "pi_SA0000",
        "customer": None,
        "customer_details": {"email": "sample0.person@gmail.com", "name": "Gus Marsh0"},
        "metadata": {},
    }
    return envelope


def _stripe_invoice() -> dict:
    envelope = load_fixture("stripe/payment_intent.succeeded")
    envelope.update(id="evt_in_SB0000", type="invoice.paid")
    envelope["data"]["object"] = {
        "id": "in_SB0000",
        "object": "invoice",
        "amount_paid": 99700,
        "currency": "usd",
        "created": 1772906400,
        "status": "paid",
        "status_transitions": {"paid_at": 1772906500},
        "customer": "cus_SB0000",
        "customer_email": "sample9.person@gmail.com",
        "customer_name": "Ada Byrne9",
        "payments": {
            "data": [{"payment": {"type": "payment_intent", "payment_intent": "pi_SB0000"}}]
        },
        "metadata": {},
    }
    return envelope


def _whop_deactivated() -> dict:
    envelope = load_fixture("whop/membership.activated")
    envelope.update(id="msg_2yQmDeactsample", type="membership.deactivated")
    envelope["data"].update(status="canceled", canceled_at="2026-04-14T16:02:12Z")
    return envelope


@dataclass(frozen=True)
class Sample:
    provider: str
    event_type: str
    build: Callable[[], dict]

    @property
    def id(self) -> str:
        return f"{self.provider}:{self.event_type}"


def _fixture(name: str) -> Callable[[], dict]:
    return lambda: load_fixture(name)


SAMPLES = [
    Sample("calendly", "invitee.created", _fixture("calendly/invitee.created")),
    Sample("calendly", "invitee.canceled", _fixture("calendly/invitee.canceled")),
    Sample(
        "calendly",
        "invitee.canceled (reschedule)",
        _fixture("calendly/invitee.canceled-rescheduled"),
    ),
    Sample(
        "calendly", "invitee.created (reschedule)", _fixture("calendly/invitee.created-rescheduled")
    ),
    Sample("calendly", "invitee_no_show.created", _fixture("calendly/invitee_no_show.created")),
    Sample("calendly", "invitee_no_show.deleted", _no_show_deleted),
    Sample("typeform", "form_response", _fixture("typeform/form_response")),
    Sample("close", "lead.created", lambda: _close_lead("created")),
    Sample("close", "lead.updated", lambda: _close_lead("updated")),
    Sample("close", "contact.created", _fixture("close/contact.created")),
    Sample("close", "contact.updated", _close_contact_updated),
    Sample("close", "opportunity.created", _close_opportunity_created),
    Sample("close", "opportunity.updated", _fixture("close/opportunity.updated")),
    Sample("close", "activity.call.created", _fixture("close/activity.call.created")),
    Sample("close", "lead.merged", _close_lead_merged),
    Sample("stripe", "checkout.session.completed", _stripe_checkout),
    Sample("stripe", "payment_intent.succeeded", _fixture("stripe/payment_intent.succeeded")),
    Sample("stripe", "charge.succeeded", _fixture("stripe/charge.succeeded")),
    Sample("stripe", "charge.refunded", _fixture("stripe/charge.refunded")),
    Sample("stripe", "refund.created", _fixture("stripe/refund.created")),
    Sample("stripe", "invoice.paid", _stripe_invoice),
    Sample("whop", "payment.succeeded", _fixture("whop/payment.succeeded")),
    Sample("whop", "refund.created", _fixture("whop/refund.created")),
    Sample("whop", "membership.activated", _fixture("whop/membership.activated")),
    Sample("whop", "membership.deactivated", _whop_deactivated),
]
