"""Typeform: form responses (lead forms with UTMs) by webhook and by the sync."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from apps.integrations.providers.base import Provider, body_hash, child
from apps.integrations.providers.typeform.client import TypeformClient
from apps.integrations.providers.typeform.records import FormResponses
from apps.integrations.providers.typeform.settings import typeform_field_mapping
from apps.integrations.providers.typeform.sync import TypeformSync
from apps.orgs.models import Organization
from attribution import signatures
from attribution.sources import typeform
from attribution.sources._fields import text


def _verify(*, secrets: list[str], headers: Mapping[str, str], body: bytes, now) -> None:
    signatures.verify_typeform(secrets=secrets, headers=headers, body=body)


def _identify(envelope: Mapping[str, Any], headers, body: bytes, record) -> tuple[str, str]:
    response = envelope.get("form_response")
    token = text(response.get("token")) if isinstance(response, Mapping) else None
    event_id = text(envelope.get("event_id")) or token or body_hash(body)
    return event_id, text(envelope.get("event_type")) or "form_response"


def _parse(org: Organization, envelope: Mapping[str, Any]) -> object:
    response = envelope.get("form_response") if isinstance(envelope, Mapping) else None
    form_id = response.get("form_id") if isinstance(response, Mapping) else None
    form_id = form_id if isinstance(form_id, str) else None  # a list is no settings key
    return typeform.parse_webhook(
        envelope, field_mapping=typeform_field_mapping(org=org, form_id=form_id)
    )


def _raw_object(envelope: Mapping[str, Any]) -> object:
    return child(envelope, "form_response")


PROVIDER = Provider(
    name="typeform",
    label="Typeform",
    api_credential="api_token",
    signing_credential="webhook_secret",
    kept_headers=(signatures.TYPEFORM_HEADER,),
    overlap=timedelta(days=1),
    client=TypeformClient,
    syncer=TypeformSync,
    records=(FormResponses(),),
    verify=_verify,
    identify=_identify,
    parse=_parse,
    raw_object=_raw_object,
)
