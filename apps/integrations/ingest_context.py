"""What one ingestion batch knows, passed explicitly to every record handler.

``ingest_record`` and ``ingest_records`` (apps/integrations/ingest.py) build one
:class:`IngestContext` per batch: the contacts resolved ahead for the whole page, the people
erased here whose records go to their nameless contact, the provider objects already held by a
contact, and the ids of the contacts the batch creates. The handlers of each provider
(``apps/integrations/providers/<name>/records.py``) read it through the methods below and the
few helpers after it, and keep no state of their own between records.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from apps.contacts.models import Contact, SourceRecord
from apps.contacts.services import (
    ObjectHeld,
    ResolveResult,
    SourceRecordRow,
    contact_resolve,
    contact_resolve_many,
    source_records_upsert_many,
)
from apps.orgs.models import Organization
from apps.orgs.outcomes import Outcome
from attribution.sources.records import PersonObservation


@dataclasses.dataclass
class Erased:
    """Records about provider objects held for people erased here (privacy.contact_erase), or
    about a person whose identifiers were suppressed then (contacts.suppression), with their
    erased contact: by record, and by each person a record names."""

    records: dict[int, Contact]
    people: dict[int, Contact]
    # What the records carry in clear, for the deliveries to erase; and every contact to scrub.
    tokens: set[str] = dataclasses.field(default_factory=set)
    contacts: set[int] = dataclasses.field(default_factory=set)


@dataclasses.dataclass
class Held:
    """The provider objects each record is about, and the contact one of them already has: by
    record, and by each person the record names (contacts.services.ObjectHeld)."""

    records: dict[int, ObjectHeld]
    people: dict[int, ObjectHeld]


@dataclasses.dataclass
class IngestContext:
    """One batch's state. Keys by ``id()`` of the parsed records and observations, which the
    batch keeps alive for as long as the context lives."""

    org: Organization
    erased: Erased | None = None
    held: Held = dataclasses.field(default_factory=lambda: Held({}, {}))
    # (id of the observation, lead status) -> its contact, resolved for the whole page.
    preresolved: dict[tuple[int, str | None], ResolveResult] = dataclasses.field(
        default_factory=dict
    )
    # Contacts the resolver created in this batch (some may be rolled back with a savepoint
    # later: readers look them up and skip the missing).
    created: list[int] = dataclasses.field(default_factory=list)

    # people

    def resolved(self, person: PersonObservation, lead_status: str | None = None) -> ResolveResult:
        if self.erased is not None and id(person) in self.erased.people:
            contact = self.erased.people[id(person)]
            return ResolveResult(contact=contact, created=False, decision="erased")
        hit = self.preresolved.get((id(person), lead_status))
        if hit is not None:
            return hit
        result = contact_resolve(
            org=self.org,
            observation=person,
            lead_status=lead_status,
            held=self.held_person(person),
            created=self.created,
        )
        return result

    def resolve(self, person: PersonObservation) -> Contact | None:
        """The contact of a person the record names; None for a record that names nobody."""
        if not names_someone(person):
            return None
        return self.resolved(person).contact

    def resolve_many(
        self,
        observations: list[PersonObservation],
        *,
        held: list[ObjectHeld | None],
        lead_status: str | None = None,
    ) -> list[ResolveResult]:
        return contact_resolve_many(
            org=self.org,
            observations=observations,
            lead_status=lead_status,
            held=held,
            created=self.created,
        )

    def resolve_afresh(self, observation: PersonObservation) -> ResolveResult:
        """Resolved without what this batch resolved ahead (a merge just changed identities)."""
        return contact_resolve(org=self.org, observation=observation, created=self.created)

    def forget_preresolved(self) -> None:
        """Contacts resolved ahead for the page may be one a merge removed: resolve afresh."""
        self.preresolved.clear()

    # objects

    def held_person(self, person: PersonObservation) -> ObjectHeld | None:
        return self.held.people.get(id(person))

    def held_record(self, record: object) -> ObjectHeld | None:
        return self.held.records.get(id(record))

    def erased_contact(self, record: object) -> Contact | None:
        """The nameless contact of an erased person this record is about, if any."""
        return self.erased.records.get(id(record)) if self.erased is not None else None

    def payload(self, record: object, raw: Mapping[str, Any] | None) -> dict:
        """What a record's provenance row stores: nothing about an erased person."""
        if self.erased is not None and id(record) in self.erased.records:
            return {}
        if isinstance(raw, dict):
            # The provider's object as parsed from its JSON: stored as it is, it already
            # compares equal to what the database gives back (no copy: a page holds thousands).
            return raw
        # JSON round trip: the stored payload compares equal to what the database gives back.
        return json.loads(json.dumps(_jsonable(raw if raw is not None else record)))

    def provenance(
        self,
        *,
        provider: str,
        object_type: str,
        external_id: str,
        payload: dict,
        contact: Contact | None,
        occurred_at: datetime | None,
    ) -> tuple[SourceRecord, bool]:
        """Upserts the SourceRecord; returns it and whether anything about it changed."""
        row = SourceRecordRow(provider, object_type, external_id, payload, contact, occurred_at)
        return source_records_upsert_many(org=self.org, rows=[row])[0]


def names_someone(person: PersonObservation) -> bool:
    # A record that names nobody (a bare no-show mark, a payment without an email, phone or
    # customer id) must not create an empty contact.
    return bool(person.emails or person.phones or person.provider_ids)


def _jsonable(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


# --- outcomes -----------------------------------------------------------------------------------

_RANK = {Outcome.UNCHANGED: 0, Outcome.SKIPPED: 0, Outcome.UPDATED: 1, Outcome.CREATED: 2}


def combine(created: bool, changed: bool) -> Outcome:
    if created:
        return Outcome.CREATED
    return Outcome.UPDATED if changed else Outcome.UNCHANGED


def from_service(status: str, changed: bool = False) -> Outcome:
    outcome = Outcome(status)
    if outcome is Outcome.UNCHANGED and changed:
        return Outcome.UPDATED
    return outcome


def strongest(outcomes: list[Outcome]) -> Outcome:
    return max(outcomes, key=lambda o: _RANK[o], default=Outcome.SKIPPED)
