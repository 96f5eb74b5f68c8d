"""Provider-shaped webhook bodies for the demo, as ../shared/INTEGRATIONS.md describes them
(the shapes of /work/shared/fixtures), and their delivery through the webhook inbox.

The demo writes its calls, contacts and payments the way production does: a body is stored in
the inbox and processed by ``webhook_event_process``, the function the Celery task runs, so
the parsers and services decide everything (who a person is, a call's type and credit, a
payment's credit). Only the signature check is skipped: the demo signs nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from apps.integrations.ingest import ingest_records, parse_payload
from apps.integrations.models import WebhookEvent
from apps.integrations.providers import provider_named
from apps.integrations.webhooks import webhook_event_process

CALENDLY = "https://api.calendly.com"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Feed:
    """Bodies to ingest in the order the providers sent them, a page at a time, as a backfill
    does (``ingest_records``: the parsers and services of a webhook, a fixed number of queries
    per page)."""

    PAGE = 200

    def __init__(self):
        self.items: list[tuple[datetime, int, str, dict]] = []

    def add(self, provider: str, sent_at: datetime, envelope: dict) -> None:
        self.items.append((sent_at, len(self.items), provider, envelope))

    def ingest(self, org) -> None:
        pairs = [
            # Provenance keeps the provider's object, as for a delivery from the inbox.
            (
                parse_payload(org=org, provider=provider, envelope=envelope),
                provider_named(provider).raw_object(envelope),
            )
            for _, _, provider, envelope in sorted(self.items)
        ]
        for start in range(0, len(pairs), self.PAGE):
            for result in ingest_records(
                org=org, items=pairs[start : start + self.PAGE], via="webhook"
            ):
                if isinstance(result, Exception):
                    raise result
        self.items = []


def invitee_uri(ext: str) -> str:
    return f"{CALENDLY}/scheduled_events/DEMO{ext}/invitees/IN{ext}"


def deliver(org, provider: str, event_id: str, event_type: str, envelope: dict) -> None:
    """Stores the body in the org's inbox, as the webhook endpoint does, and processes it."""
    event = WebhookEvent.objects.create(
        org=org,
        provider=provider,
        event_id=event_id,
        event_type=event_type,
        body=json.dumps(envelope).encode(),
        headers={},
    )
    webhook_event_process(event_pk=event.pk, final=True)


def typeform_response(*, token, at, first, last, email, phone, source, campaign) -> dict:
    fields = [("f1", "first_name", "short_text", "First name"),
              ("f2", "last_name", "short_text", "Last name"),
              ("f3", "email", "email", "Email"), ("f4", "phone", "phone_number", "Phone")]  # fmt: skip
    answers = [
        {"type": "text", "text": first, "field": {"id": "f1", "type": "short_text", "ref": "first_name"}},
        {"type": "text", "text": last, "field": {"id": "f2", "type": "short_text", "ref": "last_name"}},
        {"type": "email", "email": email, "field": {"id": "f3", "type": "email", "ref": "email"}},
        {"type": "phone_number", "phone_number": phone,
         "field": {"id": "f4", "type": "phone_number", "ref": "phone"}},
    ]  # fmt: skip
    hidden = {"utm_source": source}
    if campaign:
        hidden["utm_campaign"] = campaign
    return {
        "event_id": f"EV{token}",
        "event_type": "form_response",
        "form_response": {
            "form_id": "DEMOAPPLY",
            "token": token,
            "landed_at": iso(at - timedelta(minutes=3)),
            "submitted_at": iso(at),
            "hidden": hidden,
            "definition": {
                "id": "DEMOAPPLY",
                "title": "Apply",
                "fields": [
                    {"id": i, "ref": r, "type": t, "title": title} for i, r, t, title in fields
                ],
            },
            "answers": answers,
        },
    }


def calendly_invitee(
    kind: str,
    *,
    ext: str,
    at: datetime,
    sent_at: datetime,
    event_name: str,
    host_email: str,
    first: str,
    last: str,
    email: str,
    phone: str,
    source: str,
    campaign: str,
    no_show_at: datetime | None = None,
) -> dict:
    """``invitee.created``, ``invitee.canceled`` or ``invitee_no_show.created`` of one booking."""
    canceled = kind == "invitee.canceled"
    uri = f"{CALENDLY}/scheduled_events/DEMO{ext}"
    host = f"{CALENDLY}/users/{host_email.split('@')[0].replace('.', '')}"
    return {
        "event": kind,
        "created_at": iso(sent_at),
        "created_by": host,
        "payload": {
            "uri": invitee_uri(ext),
            "email": email,
            "name": f"{first} {last}",
            "first_name": first,
            "last_name": last,
            "status": "canceled" if canceled else "active",
            "timezone": "America/New_York",
            "rescheduled": False,
            "old_invitee": None,
            "new_invitee": None,
            "created_at": iso(at - timedelta(days=1)),
            "updated_at": iso(sent_at),
            "questions_and_answers": [{"question": "Phone number", "answer": phone, "position": 0}],
            "tracking": {
                "utm_source": source,
                "utm_medium": "paid" if campaign else None,
                "utm_campaign": campaign or None,
                "utm_content": None,
                "utm_term": None,
                "salesforce_uuid": None,
            },
            "cancellation": {"canceled_by": first, "reason": "conflict", "canceler_type": "invitee"}
            if canceled
            else None,
            "no_show": {
                "uri": f"{CALENDLY}/invitee_no_shows/NS{ext}",
                "created_at": iso(no_show_at),
            }
            if no_show_at
            else None,
            "payment": None,
            "scheduled_event": {
                "uri": uri,
                "name": event_name,
                "status": "canceled" if canceled else "active",
                "start_time": iso(at),
                "end_time": iso(at + timedelta(minutes=45)),
                "event_type": f"{CALENDLY}/event_types/DEMO{event_name.split()[0].upper()}",
                "location": {"type": "zoom"},
                "created_at": iso(at - timedelta(days=1)),
                "updated_at": iso(sent_at),
                "event_memberships": [
                    {"user": host, "user_email": host_email, "user_name": host_email.split("@")[0]}
                ],
            },
        },
    }


def stripe_payment_intent(*, ref: str, amount: Decimal, currency: str, at: datetime, email: str):
    cents = int(amount * 100)
    return {
        "id": f"evt_pi_{ref}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(at.timestamp()),
        "livemode": False,
        "api_version": "2026-06-24.dahlia",
        "data": {"object": {
            "id": f"pi_{ref}", "object": "payment_intent", "amount": cents,
            "amount_received": cents, "currency": currency.lower(), "created": int(at.timestamp()),
            "status": "succeeded", "latest_charge": f"ch_{ref}", "receipt_email": email,
            "customer": None, "metadata": {},
        }},
    }  # fmt: skip


def stripe_charge_refunded(
    *, ref: str, amount: Decimal, refunded: Decimal, currency: str, paid_at, at, email, name
):
    cents, back = int(amount * 100), int(refunded * 100)
    return {
        "id": f"evt_re_{ref}",
        "object": "event",
        "type": "charge.refunded",
        "created": int(at.timestamp()),
        "livemode": False,
        "api_version": "2026-06-24.dahlia",
        "data": {"object": {
            "id": f"ch_{ref}", "object": "charge", "amount": cents, "amount_captured": cents,
            "amount_refunded": back, "currency": currency.lower(),
            "created": int(paid_at.timestamp()), "paid": True, "status": "succeeded",
            "refunded": back >= cents, "captured": True, "payment_intent": f"pi_{ref}",
            "customer": None, "metadata": {},
            "billing_details": {"email": email, "name": name, "phone": None, "address": None},
            "receipt_email": email,
        }, "previous_attributes": {"amount_refunded": 0}},
    }  # fmt: skip


def close_call(*, ref: str, lead_id: str, user_id: str, user_name: str, at: datetime, phone: str):
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return {
        "subscription_id": "whsub_demo",
        "event": {
            "id": f"ev_call_{ref}", "object_type": "activity.call", "action": "created",
            "lead_id": lead_id, "organization_id": "orga_demo",
            "date_created": at.strftime("%Y-%m-%dT%H:%M:%S.000000"), "changed_fields": [],
            "previous_data": {}, "meta": {},
            "data": {
                "id": f"acti_{ref}", "_type": "Call", "lead_id": lead_id, "user_id": user_id,
                "user_name": user_name, "date_created": stamp, "activity_at": stamp,
                "direction": "outbound", "status": "completed", "disposition": "answered",
                "duration": 1800, "phone": phone, "note": "Follow-up call",
            },
        },
    }  # fmt: skip
