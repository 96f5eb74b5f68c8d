"""Calendly invitee events -> meetings (apps/meetings/services.py) and their provenance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.integrations.ingest_context import IngestContext, combine
from apps.integrations.providers.base import ObjectLookup, RecordHandler, people_naming_someone
from apps.meetings.models import Meeting
from apps.meetings.services import meeting_upsert_from_invitee
from apps.orgs.models import Organization
from apps.orgs.outcomes import Outcome
from attribution.sources import calendly

_MEETING_FIELDS = (
    "contact_id", "status", "scheduled_at", "ends_at", "event_uri", "event_name", "call_type",
    "canceled_at", "no_show_marked_at", "rescheduled_to_id", "replaces_external_id", "host_id",
    "closer_id", "setter_id", "showed",
)  # fmt: skip


def meeting_state(org: Organization, invitee_uri: str) -> dict | None:
    return (
        Meeting.objects.for_org(org)
        .filter(provider="calendly", external_id=invitee_uri)
        .values(*_MEETING_FIELDS)
        .first()
    )


def _invitee_key(uri: str) -> str:
    return f"calendly:invitee:{uri}"


class InviteeEvents(RecordHandler):
    record_type = calendly.InviteeEvent

    def apply_one(
        self, ctx: IngestContext, record: calendly.InviteeEvent, raw: Mapping[str, Any] | None
    ) -> Outcome:
        org = ctx.org
        before = meeting_state(org, record.invitee_uri)
        # A bare no-show body names only the invitee: the meeting keeps the contact it has.
        contact = ctx.resolve(record.person) if record.event_uri else None
        meeting = meeting_upsert_from_invitee(org=org, event=record, contact=contact)
        # One provenance row per invitee and event kind, so a cancel does not overwrite the
        # booking.
        _, changed = ctx.provenance(
            provider="calendly",
            object_type=f"invitee.{record.kind}",
            external_id=record.invitee_uri,
            payload=ctx.payload(record, raw),
            contact=contact or meeting.contact,
            occurred_at=record.occurred_at,
        )
        after = meeting_state(org, record.invitee_uri)
        return combine(before is None, changed or before != after)

    def persons(self, record: calendly.InviteeEvent):
        return people_naming_someone([record.person] if record.event_uri else [])

    def objects(self, record: calendly.InviteeEvent) -> list[ObjectLookup]:
        return [("meeting", "calendly", None, record.invitee_uri)]

    def references(self, record: calendly.InviteeEvent) -> list[ObjectLookup]:
        # The invitee a reschedule replaces or is replaced by: the same person rebooking. A
        # scheduled event is not one: a group event has many invitees.
        others = (record.old_invitee_uri, record.new_invitee_uri)
        return [("meeting", "calendly", None, uri) for uri in others if uri]

    def object_key(self, record: calendly.InviteeEvent) -> str:
        return _invitee_key(record.invitee_uri)

    def lock_keys(self, record: calendly.InviteeEvent) -> list[str]:
        # The two halves of a reschedule, which two records could reach by different keys.
        others = (record.old_invitee_uri, record.new_invitee_uri)
        return [self.object_key(record), *(_invitee_key(uri) for uri in others if uri)]
