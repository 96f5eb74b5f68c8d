"""Stripe: charges and refunds, by webhook and by the sync."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from apps.integrations.providers.base import Provider, body_hash, child
from apps.integrations.providers.stripe.client import StripeClient
from apps.integrations.providers.stripe.records import StripeEvents
from apps.integrations.providers.stripe.sync import StripeSync
from apps.orgs.models import Organization
from attribution import signatures
from attribution.sources import stripe
from attribution.sources._fields import text


def _verify(*, secrets: list[str], headers: Mapping[str, str], body: bytes, now) -> None:
    signatures.verify_stripe(secrets=secrets, headers=headers, body=body, now=now)


def _identify(envelope: Mapping[str, Any], headers, body: bytes, record) -> tuple[str, str]:
    return text(envelope.get("id")) or body_hash(body), text(envelope.get("type")) or ""


def _parse(org: Organization, envelope: Mapping[str, Any]) -> object:
    return stripe.parse_event(envelope)


def _raw_object(envelope: Mapping[str, Any]) -> object:
    return child(child(envelope, "data"), "object")


PROVIDER = Provider(
    name="stripe",
    label="Stripe",
    api_credential="api_key",
    signing_credential="webhook_secret",
    kept_headers=(signatures.STRIPE_HEADER,),
    overlap=timedelta(days=3),
    client=StripeClient,
    syncer=StripeSync,
    records=(StripeEvents(),),
    verify=_verify,
    identify=_identify,
    parse=_parse,
    raw_object=_raw_object,
)
