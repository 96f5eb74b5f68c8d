"""Whop API v1: payments (and their refunds) with cursor pagination.

``first`` (page size) and ``after`` (the previous page's ``page_info.end_cursor``); the walk
ends when ``page_info.has_next_page`` is false or no cursor comes back. Whop documents no
rate-limit figure we could confirm: the pace is a setting (unverified).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from apps.integrations.clients.base import BaseClient, Page

PAGE_SIZE = 100


class WhopClient(BaseClient):
    provider = "whop"
    base_url = "https://api.whop.com/api/v1"
    rate_per_second = 10.0

    def pages(
        self, resource: str, params: Mapping[str, Any], *, after: str | None = None
    ) -> Iterator[Page]:
        while True:
            query: dict[str, Any] = {**params, "first": PAGE_SIZE}
            if after:
                query["after"] = after
            body = self.get(f"/{resource}", query)
            items = list(body.get("data") or [])
            info: Mapping[str, Any] = body.get("page_info") or {}
            after = info.get("end_cursor")
            more = bool(after) and info.get("has_next_page", True) is not False and bool(items)
            yield Page(items, {"after": after} if more else None)
            if not more:
                return
