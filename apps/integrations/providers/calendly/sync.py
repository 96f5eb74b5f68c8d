"""Calendly's nightly sync: the organisation's members, then its scheduled events' invitees."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from apps.integrations.clients import Page
from apps.integrations.syncing import ProviderSync
from apps.orgs.services import team_member_link
from attribution.sources import calendly


def _calendly_time(value: str | None) -> str | None:
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class CalendlySync(ProviderSync):
    provider = "calendly"

    def sync(self) -> None:
        me = self.client.me()
        organization = me["current_organization"]
        members = 0
        for membership in self.client.organization_memberships(organization):
            user = membership.get("user") or {}
            if user.get("uri"):
                members += bool(
                    team_member_link(
                        org=self.org,
                        provider="calendly",
                        external_id=user["uri"],
                        email=user.get("email"),
                        name=user.get("name"),
                    )
                )
        self.reconciliation["team_members"] = members

        def pages(since, position):
            for page in self.client.scheduled_event_pages(
                organization,
                min_start_time=_calendly_time(since),
                page_token=(position or {}).get("page_token"),
            ):
                # Fetched on the prefetch thread too, never inside the page's transaction.
                page.related = [
                    (invitee, event)
                    for event in page.items
                    for invitee in self.client.invitees(event["uri"])
                ]
                yield page

        self.ingest_walk("scheduled_events", pages)
        # Bookable time per host and week, for utilization (its own module: availability).
        from apps.integrations.providers.calendly.availability import availability_sync

        self.reconciliation["availability"] = availability_sync(org=self.org, client=self.client)

    def page_payload(self, page: Page) -> list[Any]:
        return page.related

    def queue_page(self, resource: str, items: list[Any], context: Any) -> None:
        for invitee, event in items:
            self._invitee(invitee, event)

    def _invitee(self, invitee: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        canceled = invitee.get("status") == "canceled"

        def parse(invitee):
            kind = "canceled" if canceled else "created"
            yield calendly.parse_invitee(invitee, kind=kind, scheduled_event=event)
            if invitee.get("no_show"):
                yield calendly.parse_invitee(invitee, kind="no_show_created", scheduled_event=event)

        # Provenance in the webhook payload's shape (the event embedded, not named by uri), so
        # a sync after the webhook finds the record unchanged instead of "missed".
        as_webhook = {k: v for k, v in invitee.items() if k != "event"}
        as_webhook["scheduled_event"] = event

        def discovered(outcomes: list[str]) -> None:
            if canceled and ({"created", "updated"} & set(outcomes)):
                self.discovered("cancellations_discovered")

        self.ingest("invitees", invitee, parse, "uri", raw=as_webhook, then=discovered)
