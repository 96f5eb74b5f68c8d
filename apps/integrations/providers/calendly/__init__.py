"""Calendly: bookings, cancellations and no-shows by webhook; scheduled events by the sync."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from apps.integrations.providers.base import Provider, body_hash, child
from apps.integrations.providers.calendly.client import CalendlyClient
from apps.integrations.providers.calendly.records import InviteeEvents
from apps.integrations.providers.calendly.sync import CalendlySync
from apps.orgs.models import Organization
from attribution import signatures
from attribution.sources import calendly
from attribution.sources._fields import text


def _verify(*, secrets: list[str], headers: Mapping[str, str], body: bytes, now) -> None:
    signatures.verify_calendly(secrets=secrets, headers=headers, body=body, now=now)


def _identify(envelope: Mapping[str, Any], headers, body: bytes, record) -> tuple[str, str]:
    event_type = text(envelope.get("event")) or ""
    # Calendly sends no delivery id: the parser derives one that is stable across retries.
    key = getattr(record, "idempotency_key", None) or body_hash(body)
    return key, event_type


def _parse(org: Organization, envelope: Mapping[str, Any]) -> object:
    return calendly.parse_webhook(envelope)


def _raw_object(envelope: Mapping[str, Any]) -> object:
    return child(envelope, "payload")


PROVIDER = Provider(
    name="calendly",
    label="Calendly",
    api_credential="api_token",
    signing_credential="signing_key",
    kept_headers=(signatures.CALENDLY_HEADER,),
    # No-shows are marked days after the call.
    overlap=timedelta(days=14),
    client=CalendlyClient,
    syncer=CalendlySync,
    records=(InviteeEvents(),),
    verify=_verify,
    identify=_identify,
    parse=_parse,
    raw_object=_raw_object,
)
