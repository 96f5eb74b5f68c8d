"""Close's nightly sync: the users (roster), then leads, opportunities and calls."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from apps.integrations.providers.close.settings import close_lead_owner_field, close_no_show_rule
from apps.integrations.syncing import ProviderSync
from apps.orgs.services import team_member_link
from attribution.sources import close


def _one(parse: Callable[[Mapping[str, Any]], object]):
    def records(item: Mapping[str, Any]) -> list[object]:
        record = parse(item)
        return [record] if record is not None else []

    return records


class CloseSync(ProviderSync):
    provider = "close"
    RESOURCES = (
        ("leads", "/lead/"),
        ("opportunities", "/opportunity/"),
        ("calls", "/activity/call/"),
    )

    def sync(self) -> None:
        members = 0
        for user in self.client.users():
            name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
            members += bool(
                team_member_link(
                    org=self.org,
                    provider="close",
                    external_id=user["id"],
                    email=user.get("email"),
                    name=name or None,
                )
            )
        self.reconciliation["team_members"] = members
        # A resource's walk ends, its last page committed, before the next one's starts:
        # opportunities and calls find their leads' contacts.
        for resource, path in self.RESOURCES:
            # A backfill walks by creation date; an incremental run by last change.
            def pages(since, position, path=path):
                position = position or {}
                return self.client.pages(
                    path,
                    {},
                    date_field="date_updated" if since else "date_created",
                    since=position.get("since", since),
                    skip=position.get("skip", 0),
                )

            self.ingest_walk(resource, pages)

    def queue_page(self, resource: str, items: list[Any], context: Any) -> None:
        # Parsed with the same org settings as the webhooks (settings.py).
        if resource == "leads":
            owner_field = close_lead_owner_field(org=self.org)
            parse = _one(lambda o: close.parse_lead(o, lead_owner_field=owner_field))
        elif resource == "calls":
            rule = close_no_show_rule(org=self.org)
            parse = _one(lambda o: close.parse_call(o, no_show_rule=rule))
        else:
            parse = _one(close.parse_opportunity)
        for item in items:
            self.ingest(resource, item, parse)
