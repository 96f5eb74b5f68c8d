"""Stripe's nightly sync: charges and refunds, each wrapped in the event its webhook carries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from apps.integrations.syncing import ProviderSync
from attribution.sources import stripe


def _unix(value: str | None) -> int | None:
    return int(datetime.fromisoformat(value).timestamp()) if value else None


class StripeSync(ProviderSync):
    provider = "stripe"

    def sync(self) -> None:
        for resource in ("charges", "refunds"):

            def pages(since, position, resource=resource):
                return self.client.pages(
                    resource,
                    created_gte=_unix(since),
                    starting_after=(position or {}).get("starting_after"),
                )

            self.ingest_walk(resource, pages)

    def queue_page(self, resource: str, items: list[Any], context: Any) -> None:
        for item in items:
            self.ingest(resource, item, _STRIPE_PARSERS[resource])


# ingest_record takes the event records the webhooks produce; a listed object is wrapped in one
# the way its webhook would carry it. The synthetic event id says where it came from; payments
# and refunds are keyed by their own ids (payment_key, refund_id), so a webhook and a sync of
# the same object still meet in one row.


def _stripe_charge(charge: Mapping[str, Any]) -> list[object]:
    payment = stripe.parse_charge(charge)
    if payment is None:
        return []  # a charge that moved no money (failed, uncaptured)
    return [
        stripe.StripeEvent(
            event_id=f"sync:{payment.charge_id or charge['id']}",
            event_type="charge.succeeded",
            created=payment.paid_at,
            person=payment.person,
            payment=payment,
        )
    ]


def _stripe_refund(refund: Mapping[str, Any]) -> list[object]:
    observation = stripe.parse_refund(refund)
    return [
        stripe.StripeEvent(
            event_id=f"sync:{observation.refund_id}",
            event_type="refund.updated",
            created=observation.refunded_at,
            person=observation.person,
            refunds=(observation,),
        )
    ]


_STRIPE_PARSERS = {"charges": _stripe_charge, "refunds": _stripe_refund}
