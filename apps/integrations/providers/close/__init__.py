"""Close (the CRM): leads and their people, opportunities, calls and lead merges, by webhook
and by the sync."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from apps.integrations.providers.base import Provider, body_hash, child
from apps.integrations.providers.close.client import CloseClient
from apps.integrations.providers.close.records import (
    Calls,
    LeadMerges,
    LeadsAndContacts,
    Opportunities,
)
from apps.integrations.providers.close.settings import close_lead_owner_field, close_no_show_rule
from apps.integrations.providers.close.sync import CloseSync
from apps.orgs.models import Organization
from attribution import signatures
from attribution.sources import close
from attribution.sources._fields import text


def _verify(*, secrets: list[str], headers: Mapping[str, str], body: bytes, now) -> None:
    signatures.verify_close(secrets=secrets, headers=headers, body=body, now=now)


def _identify(envelope: Mapping[str, Any], headers, body: bytes, record) -> tuple[str, str]:
    event = envelope.get("event")
    event = event if isinstance(event, Mapping) else {}
    event_type = f"{text(event.get('object_type'))}.{text(event.get('action'))}"
    return text(event.get("id")) or body_hash(body), event_type


def _parse(org: Organization, envelope: Mapping[str, Any]) -> object:
    return close.parse_webhook(
        envelope,
        no_show_rule=close_no_show_rule(org=org),
        lead_owner_field=close_lead_owner_field(org=org),
    )


def _raw_object(envelope: Mapping[str, Any]) -> object:
    return child(child(envelope, "event"), "data")


PROVIDER = Provider(
    name="close",
    label="Close",
    api_credential="api_key",
    signing_credential="webhook_signature_key",
    kept_headers=(signatures.CLOSE_HASH_HEADER, signatures.CLOSE_TIMESTAMP_HEADER),
    overlap=timedelta(days=1),
    client=CloseClient,
    syncer=CloseSync,
    records=(LeadsAndContacts(), Opportunities(), Calls(), LeadMerges()),
    verify=_verify,
    identify=_identify,
    parse=_parse,
    raw_object=_raw_object,
)
