"""Stripe: charges and refunds through the list API.

Lists are newest first with ``limit`` ≤ 100 and ``starting_after`` (the last id seen) until
``has_more`` is false. The limit is 100 operations/second live and 25 in test mode.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from apps.integrations.clients.base import BaseClient, Page

PAGE_SIZE = 100


class StripeClient(BaseClient):
    provider = "stripe"
    base_url = "https://api.stripe.com"
    rate_per_second = 90.0

    def __init__(self, token: str, **kwargs):
        if token.startswith(("sk_test_", "rk_test_")) and "rate_per_second" not in kwargs:
            kwargs["rate_per_second"] = 22.0
        super().__init__(token, **kwargs)

    def pages(
        self,
        resource: str,
        *,
        created_gte: int | None = None,
        starting_after: str | None = None,
        expand: tuple[str, ...] = (),
    ) -> Iterator[Page]:
        while True:
            query: dict[str, Any] = {"limit": PAGE_SIZE}
            if created_gte is not None:
                query["created[gte]"] = created_gte
            if starting_after:
                query["starting_after"] = starting_after
            if expand:
                query["expand[]"] = list(expand)
            body = self.get(f"/v1/{resource}", query)
            items: list[Mapping[str, Any]] = list(body.get("data") or [])
            has_more = bool(body.get("has_more")) and bool(items)
            if items:
                starting_after = items[-1]["id"]
            yield Page(items, {"starting_after": starting_after} if has_more else None)
            if not has_more:
                return
