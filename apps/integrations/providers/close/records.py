"""Close leads and contacts -> people; opportunities -> deals; calls -> call activities (and the
show or no-show of the meeting they report on); lead merges -> one person."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from apps.contacts.lead_source import contacts_set_crm_lead_source, lead_source_from_custom
from apps.contacts.lookups import contacts_holding
from apps.contacts.models import Contact, IdentifierKind
from apps.contacts.services import SourceRecordRow, contact_merge, source_records_upsert_many
from apps.deals.models import CallActivity
from apps.deals.services import deals_upsert_from_crm_many
from apps.integrations.ingest_context import IngestContext, combine, from_service
from apps.integrations.providers.base import ObjectLookup, RecordHandler
from apps.meetings.models import Meeting
from apps.meetings.services import ENDED_STATUSES, meeting_set_crm_outcome
from apps.orgs.models import Organization, TeamMember
from apps.orgs.outcomes import Outcome
from attribution.sources import close
from attribution.sources.records import ExternalId, PersonObservation

# A CRM call and the booked meeting it reports on are this close in time at most.
CALL_MEETING_WINDOW = timedelta(hours=3)


def _close_person_id(record: close.LeadOrContact) -> str:
    """The id a lead's or contact's provenance row is kept under."""
    external_id = record.lead_id if record.object_type == "lead" else record.contact_id
    return external_id or record.lead_id


def _contacts_by_close_ids(org: Organization, pairs: set[tuple[str, str]]) -> dict[tuple, Contact]:
    """(identifier kind, value) -> the live contact holding it, for many pairs in one query."""
    return contacts_holding(org=org, pairs={(kind, value) for kind, value in pairs if value})


def _keep_lead_source(org: Organization, record: close.LeadOrContact, results) -> None:
    """The lead-source custom field the org named (close_lead_source_field), kept beside UTM."""
    contacts_set_crm_lead_source(
        org=org,
        contacts=[result.contact for result in results],
        lead_source=lead_source_from_custom(org=org, custom=record.custom or {}),
    )


class LeadsAndContacts(RecordHandler):
    record_type = close.LeadOrContact
    bulk = True

    def apply(
        self,
        ctx: IngestContext,
        items: Sequence[tuple[close.LeadOrContact, Mapping[str, Any] | None]],
    ) -> list[Outcome]:
        created, rows = [], []
        for record, raw in items:
            # A lead carries all of its people; each is resolved (Close wins names and lead
            # status).
            results = [ctx.resolved(p, status) for p, status in self.persons(record)]
            created.append(any(result.created for result in results))
            if record.object_type == "lead":
                _keep_lead_source(ctx.org, record, results)
            rows.append(
                SourceRecordRow(
                    "close",
                    record.object_type,
                    _close_person_id(record),
                    ctx.payload(record, raw),
                    results[0].contact,
                    record.occurred_at,
                )
            )
        sources = source_records_upsert_many(org=ctx.org, rows=rows)
        return [combine(c, changed) for c, (_, changed) in zip(created, sources, strict=True)]

    def persons(self, record: close.LeadOrContact):
        return [(p, record.status_label) for p in record.contacts or (record.person,)]

    def objects(self, record: close.LeadOrContact) -> list[ObjectLookup]:
        return [("source", "close", record.object_type, _close_person_id(record))]

    def object_key(self, record: close.LeadOrContact) -> str:
        return f"close:{record.object_type}:{record.contact_id or record.lead_id}"

    def held_by_each_person(self, record: close.LeadOrContact) -> bool:
        # A Close lead of several people is held by its first: the others are their own.
        return len(self.persons(record)) <= 1


class Opportunities(RecordHandler):
    record_type = close.Opportunity
    bulk = True

    def apply(
        self,
        ctx: IngestContext,
        items: Sequence[tuple[close.Opportunity, Mapping[str, Any] | None]],
    ) -> list[Outcome]:
        def keys(record):
            return (
                (IdentifierKind.CLOSE_CONTACT, record.contact_id),
                (IdentifierKind.CLOSE_LEAD, record.lead_id),
            )

        org = ctx.org
        known = _contacts_by_close_ids(org, {pair for record, _ in items for pair in keys(record)})
        contacts = [
            ctx.erased_contact(record)
            or next((known[pair] for pair in keys(record) if pair in known), None)
            for record, _ in items
        ]
        # An opportunity names the lead only by id: the person is created from those ids and
        # filled in when the lead's own event (or the sync) arrives.
        unknown = [i for i, contact in enumerate(contacts) if contact is None]
        resolved = ctx.resolve_many(
            [items[i][0].person for i in unknown],
            held=[ctx.held_record(items[i][0]) for i in unknown],
        )
        for i, result in zip(unknown, resolved, strict=True):
            contacts[i] = result.contact
        deals = deals_upsert_from_crm_many(
            org=org,
            items=[(record, contact) for (record, _), contact in zip(items, contacts, strict=True)],
        )
        sources = source_records_upsert_many(
            org=org,
            rows=[
                SourceRecordRow(
                    "close",
                    "opportunity",
                    record.opportunity_id,
                    ctx.payload(record, raw),
                    contact,
                    record.occurred_at or record.date_updated,
                )
                for (record, raw), contact in zip(items, contacts, strict=True)
            ],
        )
        return [
            from_service(status, changed)
            for (_, status), (_, changed) in zip(deals, sources, strict=True)
        ]

    # Opportunities look their contact up by Close id first: no person resolved ahead.

    def objects(self, record: close.Opportunity) -> list[ObjectLookup]:
        return [("deal", "close", None, record.opportunity_id)]

    def object_key(self, record: close.Opportunity) -> str:
        return f"close:opportunity:{record.opportunity_id}"

    def people(self, record: close.Opportunity) -> list[PersonObservation]:
        return [record.person]


def _meeting_for_call(
    org: Organization, contact: Contact | None, at: datetime | None
) -> Meeting | None:
    if contact is None or at is None:
        return None
    candidates = (
        Meeting.objects.for_org(org)
        .filter(
            contact=contact,
            scheduled_at__gte=at - CALL_MEETING_WINDOW,
            scheduled_at__lte=at + CALL_MEETING_WINDOW,
        )
        .exclude(status__in=ENDED_STATUSES)
    )
    return min(candidates, key=lambda m: abs(m.scheduled_at - at), default=None)


def _call_activity_upsert(
    org: Organization, activity_id: str, values: dict[str, Any]
) -> tuple[CallActivity, bool, list[str]]:
    """The call activity row, created or updated to ``values``: (row, created, changed)."""
    lookup = {"org": org, "provider": "close", "external_id": activity_id}
    activity = CallActivity.objects.select_for_update().filter(**lookup).first()
    created = activity is None
    if created:
        try:
            with transaction.atomic():  # a savepoint: a concurrent insert wins, we update
                activity = CallActivity.objects.create(**lookup, **values)
        except IntegrityError:
            activity = CallActivity.objects.select_for_update().get(**lookup)
            created = False
    dirty = [k for k, v in values.items() if getattr(activity, k) != v]
    if not created and dirty:
        for key in dirty:
            setattr(activity, key, values[key])
        activity.save(update_fields=dirty)
    return activity, created, dirty


class Calls(RecordHandler):
    record_type = close.CallActivity

    def apply_one(
        self, ctx: IngestContext, record: close.CallActivity, raw: Mapping[str, Any] | None
    ) -> Outcome:
        org = ctx.org
        contact = ctx.resolved(record.person).contact
        at = record.activity_at or record.date_created or record.occurred_at
        user = None
        if record.user_id:
            user = (
                TeamMember.objects.for_org(org).filter(external_ids__close=record.user_id).first()
            )
        meeting = _meeting_for_call(org, contact, at)
        values = {
            "contact": contact,
            "lead_external_id": record.lead_id,
            "user": user,
            "meeting": meeting,
            "occurred_at": at,
            "duration_seconds": max(record.duration or 0, 0),
            "direction": (record.direction or "")[:16],
            "disposition": (record.disposition or "")[:100],
            "outcome": record.outcome,
            "note": record.note or "",
        }
        _, created, dirty = _call_activity_upsert(org, record.activity_id, values)
        if meeting is not None and record.outcome in ("showed", "no_show"):
            meeting_set_crm_outcome(meeting=meeting, outcome=record.outcome)
        _, changed = ctx.provenance(
            provider="close",
            object_type="activity.call",
            external_id=record.activity_id,
            payload=ctx.payload(record, raw),
            contact=contact,
            occurred_at=at,
        )
        return combine(created, changed or bool(dirty))

    def persons(self, record: close.CallActivity):
        return [(record.person, None)]

    def objects(self, record: close.CallActivity) -> list[ObjectLookup]:
        return [("call", "close", None, record.activity_id)]

    def object_key(self, record: close.CallActivity) -> str:
        return f"close:call:{record.activity_id}"


class LeadMerges(RecordHandler):
    record_type = close.LeadMerged

    def apply_one(
        self, ctx: IngestContext, record: close.LeadMerged, raw: Mapping[str, Any] | None
    ) -> Outcome:
        org = ctx.org
        known = _contacts_by_close_ids(
            org,
            {
                (IdentifierKind.CLOSE_LEAD, record.source_lead_id),
                (IdentifierKind.CLOSE_LEAD, record.destination_lead_id),
            },
        )
        source = known.get((IdentifierKind.CLOSE_LEAD, record.source_lead_id))
        destination = known.get((IdentifierKind.CLOSE_LEAD, record.destination_lead_id))
        if source is not None and destination is not None and source != destination:
            # Close merged two leads we hold as two people: they are one person. Contacts
            # resolved ahead for the page may be the one that goes: resolve the rest afresh.
            ctx.forget_preresolved()
            contact_merge(
                org=org,
                winner=destination,
                loser=source,
                actor=None,
                reason=(
                    f"Close merged lead {record.source_lead_id} into {record.destination_lead_id}"
                ),
            )
            outcome = Outcome.UPDATED
        elif source is not None and destination is None:
            # The surviving lead id now names the person we knew by the merged one.
            both = PersonObservation(
                source="close",
                observed_at=record.occurred_at or record.person.observed_at,
                provider_ids=(
                    ExternalId("close_lead", record.source_lead_id),
                    ExternalId("close_lead", record.destination_lead_id),
                ),
            )
            ctx.resolve_afresh(both)
            outcome = Outcome.UPDATED
        else:
            outcome = Outcome.UNCHANGED
        ctx.provenance(
            provider="close",
            object_type="lead.merged",
            external_id=f"{record.source_lead_id}>{record.destination_lead_id}",
            payload=ctx.payload(record, raw),
            contact=destination or source,
            occurred_at=record.occurred_at,
        )
        return outcome

    # Merges change identities: no person resolved ahead, no object of their own.
