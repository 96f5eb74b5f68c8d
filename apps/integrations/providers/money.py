"""What the payment providers' handlers share: a payment and its refunds -> payments rows
(apps/payments/services.py), found by any id their events carry."""

from __future__ import annotations

from collections.abc import Sequence

from apps.integrations.ingest_context import IngestContext
from apps.integrations.providers.base import ObjectLookup, RecordHandler, people_naming_someone
from apps.orgs.outcomes import Outcome
from apps.payments.services import payment_upsert, refund_upsert
from attribution.sources.records import PaymentObservation, PersonObservation, RefundObservation


def money_apply(
    ctx: IngestContext,
    *,
    person: PersonObservation,
    payment: PaymentObservation | None,
    refunds: Sequence[RefundObservation],
) -> list[Outcome]:
    contact = ctx.resolve(payment.person if payment else person)
    outcomes = []
    if payment is not None:
        _, status = payment_upsert(org=ctx.org, observation=payment, contact=contact)
        outcomes.append(Outcome(status))
    for refund in refunds:
        _, status = refund_upsert(org=ctx.org, observation=refund, contact=contact)
        outcomes.append(Outcome(status))
    return outcomes


class MoneyEvents(RecordHandler):
    """A payment provider's event: its payment (if any) and refunds."""

    provider: str

    def payment(self, record) -> PaymentObservation | None:
        return record.payment

    def refunds(self, record) -> Sequence[RefundObservation | None]:
        raise NotImplementedError

    def persons(self, record):
        return people_naming_someone([record.payment.person if record.payment else record.person])

    def objects(self, record) -> list[ObjectLookup]:
        payment = self.payment(record)
        money = [payment] if payment else []
        money += list(self.refunds(record))
        return [
            ("payment", self.provider, None, key)
            for item in money
            if item is not None
            for key in (item.payment_key, item.charge_id, item.payment_intent_id)
        ]

    def references(self, record) -> list[ObjectLookup]:
        payment = self.payment(record)
        if payment is not None and payment.invoice_id:
            return [("payment", self.provider, None, payment.invoice_id)]
        return []

    # Payments lock their own keys (apps/payments/services.py): no object key.
