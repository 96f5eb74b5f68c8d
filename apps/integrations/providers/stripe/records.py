"""Stripe events -> a payment and its refunds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.integrations.ingest_context import IngestContext, strongest
from apps.integrations.providers.money import MoneyEvents, money_apply
from apps.orgs.outcomes import Outcome
from attribution.sources import stripe


class StripeEvents(MoneyEvents):
    record_type = stripe.StripeEvent
    provider = "stripe"

    def apply_one(
        self, ctx: IngestContext, record: stripe.StripeEvent, raw: Mapping[str, Any] | None
    ) -> Outcome:
        outcomes = money_apply(
            ctx, person=record.person, payment=record.payment, refunds=record.refunds
        )
        return strongest(outcomes)

    def refunds(self, record: stripe.StripeEvent):
        return record.refunds
