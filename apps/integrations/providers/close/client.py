"""Close CRM: users, leads, opportunities and call activities.

``_skip``/``_limit`` pagination returns ``{data, has_more}``; a deep ``_skip`` is refused, so
history is walked in ``date_created`` windows ordered oldest first, restarting ``_skip`` at 0 in
each window. Limits are per endpoint group and per API key; a 429's body carries
``error.rate_reset`` (seconds), and every response a ``RateLimit: limit=, remaining=, reset=``
header (unverified), which is used to slow down before a 429 when present.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import requests
from requests.auth import HTTPBasicAuth

from apps.integrations.clients.base import BaseClient, Page, float_or_none

PAGE_SIZE = 100
# Past this many items in one window, start a new window at the last date seen: keeps
# ``_skip`` well under the depth Close refuses.
WINDOW_ITEMS = 5000


class CloseClient(BaseClient):
    provider = "close"
    base_url = "https://api.close.com/api/v1"
    # Close publishes no fixed figure; its own example key limit is 20 RPS. Paced just under
    # it, as the other clients are: a 429 (or a RateLimit header saying the budget is spent)
    # holds the client off for the reset Close gives, so sharing the key costs a wait, not data.
    rate_per_second = 19.5

    def _authenticate(self, session: requests.Session, token: str) -> None:
        session.auth = HTTPBasicAuth(token, "")

    def rate_limit_wait(self, response: requests.Response) -> float | None:
        try:
            body = response.json()
        except ValueError:
            body = {}
        error = body.get("error") if isinstance(body, Mapping) else None
        wait = float_or_none(error.get("rate_reset")) if isinstance(error, Mapping) else None
        return wait if wait is not None else _header_reset(response)

    def after_response(self, response: requests.Response) -> None:
        fields = _ratelimit_header(response)
        if fields.get("remaining") == 0 and fields.get("reset"):
            self.hold_off(fields["reset"])

    def users(self) -> Iterator[Mapping[str, Any]]:
        for page in self.pages("/user/", {}):
            yield from page.items

    def pages(
        self,
        path: str,
        params: Mapping[str, Any],
        *,
        date_field: str = "date_created",
        since: str | None = None,
        skip: int = 0,
    ) -> Iterator[Page]:
        """Oldest first from ``since`` (inclusive); resume positions are {since, skip}."""
        seen_in_window = skip
        while True:
            query: dict[str, Any] = {**params, "_limit": PAGE_SIZE, "_skip": skip}
            if path == "/lead/":
                # Leads filter and sort through the search query language.
                clause = f'{date_field} >= "{since}" ' if since else ""
                query["query"] = f"{clause}sort:{date_field}"
            else:
                query["_order_by"] = date_field
                if since:
                    query[f"{date_field}__gte"] = since
            body = self.get(path, query)
            items = list(body.get("data") or [])
            has_more = bool(body.get("has_more")) and bool(items)
            skip += len(items)
            seen_in_window += len(items)
            if has_more and seen_in_window >= WINDOW_ITEMS and items[-1].get(date_field):
                # The new window repeats the items sharing the boundary timestamp; upserts
                # are idempotent, so that costs a little work and never a duplicate.
                since = items[-1][date_field]
                skip = seen_in_window = 0
            yield Page(items, {"since": since, "skip": skip} if has_more else None)
            if not has_more:
                return


def _ratelimit_header(response: requests.Response) -> dict[str, float]:
    fields: dict[str, float] = {}
    for part in (response.headers.get("RateLimit") or "").split(","):
        name, _, value = part.strip().partition("=")
        number = float_or_none(value)
        if name and number is not None:
            fields[name.strip()] = number
    return fields


def _header_reset(response: requests.Response) -> float | None:
    return _ratelimit_header(response).get("reset")
