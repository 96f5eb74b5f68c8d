"""Whop events -> a payment, its refund, and the raw membership."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.integrations.ingest_context import IngestContext, strongest
from apps.integrations.providers.base import ObjectLookup, people_naming_someone
from apps.integrations.providers.money import MoneyEvents, money_apply
from apps.orgs.outcomes import Outcome
from attribution.sources import whop


class WhopEvents(MoneyEvents):
    record_type = whop.WhopEvent
    provider = "whop"

    def apply_one(
        self, ctx: IngestContext, record: whop.WhopEvent, raw: Mapping[str, Any] | None
    ) -> Outcome:
        outcomes = money_apply(
            ctx,
            person=record.person,
            payment=record.payment,
            refunds=(record.refund,) if record.refund else (),
        )
        if record.membership is not None:
            # No membership model yet: the person and the raw membership are kept.
            contact = ctx.resolve(record.person)
            _, changed = ctx.provenance(
                provider="whop",
                object_type="membership",
                external_id=record.membership.membership_id,
                payload=ctx.payload(record, raw),
                contact=contact,
                occurred_at=record.occurred_at,
            )
            outcomes.append(Outcome.UPDATED if changed else Outcome.UNCHANGED)
        return strongest(outcomes)

    def refunds(self, record: whop.WhopEvent):
        return [record.refund]

    def persons(self, record: whop.WhopEvent):
        people = [record.payment.person if record.payment else record.person]
        if record.membership is not None:
            people.append(record.person)
        return people_naming_someone(people)

    def objects(self, record: whop.WhopEvent) -> list[ObjectLookup]:
        lookups = super().objects(record)
        if record.membership is not None:
            lookups.append(("source", "whop", "membership", record.membership.membership_id))
        return lookups

    def references(self, record: whop.WhopEvent) -> list[ObjectLookup]:
        lookups = super().references(record)
        payment = record.payment
        if payment is not None and payment.membership_id:
            lookups.append(("source", "whop", "membership", payment.membership_id))
        return lookups
