"""Whop: payments, refunds and memberships, by webhook; payments by the sync."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from apps.integrations.providers.base import Provider, body_hash, child, header
from apps.integrations.providers.whop.client import WhopClient
from apps.integrations.providers.whop.records import WhopEvents
from apps.integrations.providers.whop.sync import WhopSync
from apps.orgs.models import Organization
from attribution import signatures
from attribution.sources import whop
from attribution.sources._fields import text


def _verify(*, secrets: list[str], headers: Mapping[str, str], body: bytes, now) -> None:
    signatures.verify_whop(secrets=secrets, headers=headers, body=body, now=now)


def _identify(envelope: Mapping[str, Any], headers, body: bytes, record) -> tuple[str, str]:
    # webhook-id is the Standard Webhooks idempotency key, the same on every retry.
    event_id = text(header(headers, signatures.WHOP_ID_HEADER)) or text(envelope.get("id"))
    return event_id or body_hash(body), text(envelope.get("type")) or ""


def _parse(org: Organization, envelope: Mapping[str, Any]) -> object:
    return whop.parse_webhook(envelope)


def _raw_object(envelope: Mapping[str, Any]) -> object:
    return child(envelope, "data")


PROVIDER = Provider(
    name="whop",
    label="Whop",
    api_credential="api_key",
    signing_credential="webhook_secret",
    kept_headers=(
        signatures.WHOP_ID_HEADER,
        signatures.WHOP_TIMESTAMP_HEADER,
        signatures.WHOP_SIGNATURE_HEADER,
    ),
    overlap=timedelta(days=3),
    client=WhopClient,
    syncer=WhopSync,
    records=(WhopEvents(),),
    verify=_verify,
    identify=_identify,
    parse=_parse,
    raw_object=_raw_object,
)
