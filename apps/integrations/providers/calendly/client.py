"""Calendly API v2: organization members, scheduled events and their invitees.

Pagination is ``count`` (≤ 100) and ``page_token``; a null ``pagination.next_page_token`` ends a
walk. Rate limit per user: 500 requests/minute on paid plans, 50 on free; a 429 carries
``X-RateLimit-Reset``, the seconds until the window resets.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import requests

from apps.integrations.clients.base import BaseClient, Page, float_or_none

PAGE_SIZE = 100
PAID_PLAN_PER_MINUTE = 500
FREE_PLAN_PER_MINUTE = 50


class CalendlyClient(BaseClient):
    provider = "calendly"
    base_url = "https://api.calendly.com"
    # 495/minute: evenly spaced, no 60 s window ever holds more than the paid plan's 500.
    rate_per_second = PAID_PLAN_PER_MINUTE * 0.99 / 60

    def rate_limit_wait(self, response: requests.Response) -> float | None:
        return float_or_none(response.headers.get("X-RateLimit-Reset"))

    def after_response(self, response: requests.Response) -> None:
        if response.headers.get("X-RateLimit-Remaining") == "0":
            reset = float_or_none(response.headers.get("X-RateLimit-Reset"))
            if reset:
                self.hold_off(reset)

    def me(self) -> Mapping[str, Any]:
        return self.get("/users/me")["resource"]

    def organization_memberships(self, organization: str) -> Iterator[Mapping[str, Any]]:
        for page in self._pages("/organization_memberships", {"organization": organization}):
            yield from page.items

    def scheduled_event_pages(
        self,
        organization: str,
        *,
        min_start_time: str | None = None,
        max_start_time: str | None = None,
        page_token: str | None = None,
    ) -> Iterator[Page]:
        params = {"organization": organization, "sort": "start_time:asc"}
        if min_start_time:
            params["min_start_time"] = min_start_time
        if max_start_time:
            params["max_start_time"] = max_start_time
        return self._pages("/scheduled_events", params, page_token=page_token)

    def invitees(self, event_uri: str) -> Iterator[Mapping[str, Any]]:
        uuid = event_uri.rstrip("/").rsplit("/", 1)[-1]
        for page in self._pages(f"/scheduled_events/{uuid}/invitees", {}):
            yield from page.items

    def _pages(
        self, path: str, params: Mapping[str, Any], *, page_token: str | None = None
    ) -> Iterator[Page]:
        while True:
            query = {**params, "count": PAGE_SIZE}
            if page_token:
                query["page_token"] = page_token
            body = self.get(path, query)
            page_token = (body.get("pagination") or {}).get("next_page_token")
            yield Page(
                list(body.get("collection") or []),
                {"page_token": page_token} if page_token else None,
            )
            if not page_token:
                return
