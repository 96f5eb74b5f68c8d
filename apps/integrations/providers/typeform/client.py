"""Typeform: forms and their responses.

Responses are walked with ``after`` (the token of the last response seen), which cannot be
combined with ``sort`` and gives a complete, duplicate-free pass; ``page_size`` ≤ 1000. The
rate limit is 2 requests/second per account (a third-party figure; unverified).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from apps.integrations.clients.base import BaseClient, Page

RESPONSES_PAGE_SIZE = 1000
FORMS_PAGE_SIZE = 200


class TypeformClient(BaseClient):
    provider = "typeform"
    base_url = "https://api.typeform.com"
    rate_per_second = 1.95

    def forms(self) -> Iterator[Mapping[str, Any]]:
        page = 1
        while True:
            body = self.get("/forms", {"page": page, "page_size": FORMS_PAGE_SIZE})
            yield from body.get("items") or []
            if page >= int(body.get("page_count") or 1):
                return
            page += 1

    def form(self, form_id: str) -> Mapping[str, Any]:
        return self.get(f"/forms/{form_id}")

    def response_pages(
        self, form_id: str, *, since: str | None = None, after: str | None = None
    ) -> Iterator[Page]:
        while True:
            query: dict[str, Any] = {"page_size": RESPONSES_PAGE_SIZE}
            if since:
                query["since"] = since
            if after:
                query["after"] = after
            body = self.get(f"/forms/{form_id}/responses", query)
            items = list(body.get("items") or [])
            # A short page is the last one; an empty one too (total_items may lag).
            done = len(items) < RESPONSES_PAGE_SIZE
            if items:
                after = items[-1].get("token") or after
            yield Page(items, None if done else {"after": after})
            if done:
                return
