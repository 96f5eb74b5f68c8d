"""Whop's nightly sync: payments (of the company the org names, or all it can read), each
wrapped in the event its webhook carries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.integrations.syncing import ProviderSync
from attribution.sources import whop


class WhopSync(ProviderSync):
    provider = "whop"

    def sync(self) -> None:
        params = {}
        if self.settings().get("company_id"):
            params["company_id"] = self.settings()["company_id"]

        def pages(since, position):
            query = dict(params)
            if since:
                query["created_after"] = since
            return self.client.pages("payments", query, after=(position or {}).get("after"))

        self.ingest_walk("payments", pages)

    def queue_page(self, resource: str, items: list[Any], context: Any) -> None:
        for item in items:
            self.ingest("payments", item, _whop_payment)


def _whop_payment(item: Mapping[str, Any]) -> list[object]:
    payment = whop.parse_payment(item)
    return [
        whop.WhopEvent(
            event_id=f"sync:{payment.payment_key}",
            event_type="payment.succeeded" if payment.status == "succeeded" else "payment.created",
            occurred_at=payment.paid_at,
            person=payment.person,
            payment=payment,
        )
    ]
