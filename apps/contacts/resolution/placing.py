"""Placing: the slot each record goes to and what it adds to that person; then the chunk's
writes (contacts in bulk, identifiers, name keys, the review queue)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from apps.contacts.lookups import identifier_rows_holding
from apps.contacts.models import Contact, ContactNameKey, Identifier, MergeCandidate
from apps.contacts.resolution.candidates import Slot, materialize, object_slot
from apps.contacts.resolution.records import (
    IdentifierValues,
    ObjectHeld,
    ResolveResult,
    field_observation,
    fields_of,
    store_fields,
)
from apps.contacts.resolution.weighing import Weighed
from apps.kpis.invalidation import rollups_invalidate
from apps.orgs.bulk import bulk_insert, insert_rows
from apps.orgs.models import Organization
from attribution.identity.match import Decision, Profile, RecordKeys, profile_extend
from attribution.identity.survivorship import survive
from attribution.sources.records import PersonObservation


@dataclass
class Placement:
    """The people a chunk's records went to, record by record: each record sees the ones
    placed before it (``batch_index``), and a provider object seen twice is one person."""

    org: Organization
    region: str
    lead_status: str | None
    # Blocking key -> slots created or extended earlier in this chunk.
    batch_index: dict[str, list[Slot]] = field(default_factory=lambda: defaultdict(list))
    used: dict[int, Slot] = field(default_factory=dict)
    reviews: list[tuple[Slot, Slot, Decision]] = field(default_factory=list)
    # Object key -> the slot a record of this chunk about that object went to.
    object_slots: dict[str, Slot] = field(default_factory=dict)

    def place(
        self,
        *,
        keys: RecordKeys,
        block: frozenset[str],
        observation: PersonObservation,
        values: IdentifierValues,
        held: ObjectHeld | None,
        weighed: Weighed,
        slots: dict[int, Slot],
    ) -> ResolveResult:
        matches, review = weighed.matches, list(weighed.review)
        held_slot = object_slot(held, slots, self.object_slots)
        if held_slot is not None:
            # The object's person, before any identifier: anyone else those identifiers
            # point to is an admin's call, never an automatic merge.
            decision, slot = None, held_slot
            review += [m for m in matches if m[1] is not slot]
        else:
            # A namesake read without a lock is locked now; one merged away meanwhile is gone.
            matches = [m for m in matches if materialize(self.org, m[1], slots)]
            if matches:
                decision, slot = matches[0]
                # A second person who matches as well is an admin's call, never an
                # automatic merge of two existing contacts.
                review += matches[1:]
            else:
                decision = None
                slot = Slot(pk=None, contact=Contact(org=self.org), profile=Profile(), created=True)
        self._absorb(slot, keys=keys, block=block, observation=observation, values=values)
        self.reviews += [(slot, other, d) for d, other in review if other is not slot]
        for key in held.keys if held is not None else ():
            self.object_slots.setdefault(key, slot)
        return ResolveResult(
            contact=slot.contact,
            created=slot.created,
            decision="object" if held_slot is not None else "matched" if decision else "new",
            reasons=decision.reasons if decision else (),
        )

    def _absorb(self, slot: Slot, *, keys, block, observation, values) -> None:
        """What the record adds to its person: profile, surviving fields, identifiers, name keys."""
        slot.profile = profile_extend(slot.profile, keys)
        slot.fields = survive(
            slot.fields if slot.fields is not None else fields_of(slot.contact),
            field_observation(observation, self.region, self.lead_status),
        )
        self.used[id(slot)] = slot
        for kind, value, raw in values.rows:
            slot.new_values.append((kind, value, raw))
        slot.name_keys.update(k for k in block if k.startswith("n:"))
        for key in block:
            if slot not in self.batch_index[key]:
                self.batch_index[key].append(slot)

    def write(self) -> list[Slot]:
        """Writes every person placed; returns their slots, each with its contact's pk."""
        used = list(self.used.values())
        write_slots(self.org, used)
        for slot in used:
            slot.pk = slot.contact.pk
        return used


def _counted(contact: Contact) -> tuple:
    # What the KPI rollups read from a contact: when it became a lead, and from where.
    return (contact.first_seen_at, contact.original_source, contact.original_campaign)


def write_slots(org: Organization, slots: list[Slot]) -> None:
    new = [s for s in slots if s.created]
    before = {id(s): _counted(s.contact) for s in slots if not s.created}
    for slot in slots:
        store_fields(slot.contact, slot.fields)
    if new:
        bulk_insert([s.contact for s in new])
    old = [s.contact for s in slots if not s.created]
    if old:
        _update_contacts(old)
    moments = [s.contact.first_seen_at for s in new]
    moved = []
    for slot in slots:
        if slot.created or before[id(slot)] == _counted(slot.contact):
            continue
        moments += [before[id(slot)][0], slot.contact.first_seen_at]
        if before[id(slot)][1:] != _counted(slot.contact)[1:]:
            moved.append(slot.contact.pk)
    if moments or moved:
        # Bulk writes, no model signals: the rollups hear of these days here.
        rollups_invalidate(org_id=org.pk, moments=moments, contact_rows=moved)
    # Identifiers: a value already on another contact becomes shared on both.
    wanted = {(k, v) for s in slots for k, v, _ in s.new_values}
    # (kind, value) -> [contact_id, shared, pk] of every row holding it, this batch's included.
    existing: dict[tuple[str, str], list[list]] = defaultdict(list)
    for pk, contact_id, kind, value, shared, _ in identifier_rows_holding(org, wanted):
        existing[(kind, value)].append([contact_id, shared, pk])
    to_create, to_share = [], set()
    for slot in slots:
        primary = {slot.fields.primary_email, slot.fields.primary_phone}
        for kind, value, raw in slot.new_values:
            holders = existing[(kind, value)]
            if any(h[0] == slot.contact.pk for h in holders):
                continue
            for holder in holders:
                if not holder[1]:
                    holder[1] = True
                    if holder[2] is not None:  # rows of this batch are saved below as they are
                        to_share.add(holder[2])
            row = {
                "org_id": org.pk,
                "contact_id": slot.contact.pk,
                "kind": kind,
                "value": value,
                "raw": raw[:320],
                "shared": bool(holders),
                "is_primary": value in primary and kind in ("email", "phone"),
                "source": _source_of(slot, value),
            }
            holder = [slot.contact.pk, row["shared"], None]
            holders.append(holder)
            to_create.append((row, holder))
    if to_share:
        Identifier.objects.filter(pk__any=sorted(to_share)).update(shared=True)
    # A row of this batch made shared by a later one in the same batch is written shared.
    insert_rows(Identifier, [{**row, "shared": holder[1]} for row, holder in to_create])
    insert_rows(
        ContactNameKey,
        [
            {"org_id": org.pk, "contact_id": s.contact.pk, "key": k}
            for s in slots
            for k in sorted(s.name_keys)
        ],
        ignore_conflicts=True,
    )


_SURVIVING_FIELDS = (
    "first_name", "last_name", "lead_status", "primary_email", "primary_phone", "first_seen_at",
    "original_source", "original_medium", "original_campaign", "original_content",
    "original_term", "field_sources",
)  # fmt: skip


def _update_contacts(contacts: list[Contact]) -> None:
    """Writes the surviving fields of many contacts in one statement.

    Django's bulk_update builds a CASE per column and row, which dominated a backfill's time;
    on PostgreSQL one UPDATE ... FROM unnest(arrays) does the same work in a single pass.
    """
    now = timezone.now()
    if connection.vendor != "postgresql":
        for contact in contacts:
            contact.updated_at = now
        Contact.objects.bulk_update(contacts, [*_SURVIVING_FIELDS, "updated_at"])
        return
    text_fields = [f for f in _SURVIVING_FIELDS if f not in ("first_seen_at", "field_sources")]
    columns = ", ".join(f"{f} = v.{f}" for f in text_fields)
    types = ", ".join(f"{f} text" for f in text_fields)
    sql = (
        # Only column names from this module are interpolated; every value is a parameter. The
        # rows travel as one JSON document: as text arrays, their JSON column made the driver
        # escape every quote of every row, which cost more than the update itself.
        f"UPDATE {Contact._meta.db_table} AS c SET {columns}, "  # noqa: S608
        "first_seen_at = v.first_seen_at, field_sources = v.field_sources, updated_at = %s "
        f"FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, {types}, "
        "first_seen_at timestamptz, field_sources jsonb) WHERE c.id = v.id"
    )
    rows = [
        {
            "id": c.pk,
            **{f: getattr(c, f) or "" for f in text_fields},
            "first_seen_at": c.first_seen_at.isoformat() if c.first_seen_at else None,
            "field_sources": c.field_sources,
        }
        for c in contacts
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, json.dumps(rows)])


def _source_of(slot: Slot, value: str) -> str:
    fields = slot.fields
    if value == fields.primary_email:
        return fields.primary_email_source or ""
    if value == fields.primary_phone:
        return fields.primary_phone_source or ""
    return ""


def write_reviews(org, reviews: list[tuple[Slot, Slot, Decision]]) -> dict[int, set[int]]:
    by_contact: dict[int, set[int]] = defaultdict(set)
    rows = {}
    for slot, other, decision in reviews:
        a, b = sorted((slot.pk, other.pk))
        if a == b:
            continue
        rows.setdefault(
            (a, b),
            {
                "org_id": org.pk,
                "contact_a_id": a,
                "contact_b_id": b,
                "score": Decimal(str(round(decision.score, 4))),
                "reasons": list(decision.reasons),
            },
        )
        by_contact[slot.pk].add(other.pk)
    # A pair already in the queue (or already decided) stays as it is.
    insert_rows(MergeCandidate, list(rows.values()), ignore_conflicts=True)
    return by_contact
