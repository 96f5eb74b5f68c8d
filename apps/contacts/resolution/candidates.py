"""Candidate gathering: who the records of one chunk could be, loaded once for the chunk.

Identifier owners and the contacts of held objects are read locked (they usually match);
namesakes (same name key) are read as bare columns and weighed only when some record's
corroborated name could match them, and locked only when one does (``materialize``).
"""

from __future__ import annotations

from collections import defaultdict, namedtuple
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection

from apps.contacts.lookups import identifier_rows_holding
from apps.contacts.models import BlockedIdentifier, Contact, ContactNameKey, Identifier
from apps.contacts.resolution.records import (
    NAME_CANDIDATE_CAP,
    PROFILE_KINDS,
    ObjectHeld,
    lookup_pairs,
    profile_of,
    shared_key,
)
from apps.orgs.bulk import bound_cursor
from apps.orgs.models import Organization
from attribution.identity.match import (
    Profile,
    RecordKeys,
    blocking_keys,
    may_match_by_name,
)
from attribution.identity.survivorship import ContactFields

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(eq=False)  # one person is one slot: identity, not field-by-field comparison
class Slot:
    """One person during a resolve: an existing contact or one about to be created.

    A namesake (found by name only) is read without its row and without a lock: ``contact``
    stays None until a record matches it, and most never are.
    """

    pk: int | None
    contact: Contact | None
    profile: Profile
    created: bool = False
    fields: ContactFields | None = None
    new_values: list[tuple[str, str, str]] = field(default_factory=list)
    name_keys: set[str] = field(default_factory=set)


# A namesake's columns that its matching profile reads (the names profile_of uses).
Face = namedtuple(
    "Face", ["pk", "first_name", "last_name", "company", "original_campaign", "first_seen_at"]
)


@dataclass
class Candidates:
    """What a chunk's records are weighed against: per record its blocking keys; per contact
    id its slot; the values too widely shared (or blocked) to say who someone is."""

    owners: dict[tuple[str, str], set[int]]
    shared: frozenset[str]
    name_index: dict[str, list[int]]
    blocks: list[frozenset[str]]
    slots: dict[int, Slot]

    def for_record(self, i: int, keys: RecordKeys, batch_index: dict[str, list[Slot]]):
        """The slots record ``i`` is weighed against: owners of its identifiers, its weighed
        namesakes and the people of this chunk sharing a blocking key with it."""
        found: dict[int, Slot] = {}
        for pair in lookup_pairs(keys):
            for cid in self.owners.get(pair, ()):
                if cid in self.slots:
                    found[id(self.slots[cid])] = self.slots[cid]
        for key in self.blocks[i]:
            for cid in self.name_index.get(key, ()):
                # A namesake has a slot only if weighed: the others were ruled out for
                # every record of the chunk.
                if cid in self.slots:
                    found[id(self.slots[cid])] = self.slots[cid]
            for slot in batch_index.get(key, ()):
                found[id(slot)] = slot
        return list(found.values())


def gather_candidates(
    org: Organization,
    *,
    keys: Sequence[RecordKeys],
    held: Sequence[ObjectHeld | None],
    lookups: set[tuple[str, str]],
) -> Candidates:
    """Every candidate of a chunk, in a fixed number of queries. The identifier locks of
    ``lookups`` must be held already."""
    held_ids = {h.contact_id for h in held if h is not None and h.contact_id is not None}
    owners = identifier_owners(org, lookups)
    blocked = set(BlockedIdentifier.objects.for_org(org).values_list("kind", "value"))
    limit = org.identifier_share_limit
    shared = frozenset(
        shared_key(kind, value)
        for (kind, value), contact_ids in owners.items()
        if len(contact_ids) > limit or (kind, value) in blocked
    ) | frozenset(shared_key(k, v) for k, v in blocked)
    # Namesakes are only worth loading for records no identifier already places: a known
    # email or phone decides by itself, and loading every "John Smith" for it is the
    # single largest cost of a backfill.
    # A record whose object is held is placed by it: its namesakes are not needed either.
    unplaced = [
        k
        for k, h in zip(keys, held, strict=True)
        if not any(owners.get(p) for p in lookup_pairs(k)) and (h is None or h.contact_id is None)
    ]
    name_index, faces = name_candidates(org, unplaced, shared)
    # Held objects' contacts are loaded (and locked) like identifier owners.
    owner_ids = {cid for ids in owners.values() for cid in ids} | held_ids
    blocks = [blocking_keys(k, shared=shared) for k in keys]
    weighed = _namesakes_worth_weighing(keys, blocks, name_index, faces, owner_ids)
    slots = load_slots(org, owner_ids, faces, weighed)
    return Candidates(
        owners=owners, shared=shared, name_index=name_index, blocks=blocks, slots=slots
    )


def _namesakes_worth_weighing(keys, blocks, name_index, faces, owner_ids) -> set[int]:
    """A namesake is weighed (read with its emails and phones, given a slot) only when some
    record's corroborated name could match it; for the rest decide() is NO_MATCH whatever
    they hold, and they cost a name comparison each (may_match_by_name)."""
    weighed = set()
    for i, k in enumerate(keys):
        for key in blocks[i]:
            for cid in name_index.get(key, ()):
                if cid in owner_ids or cid in weighed:
                    continue
                face = faces[cid]
                if may_match_by_name(
                    k,
                    first_name=face.first_name,
                    last_name=face.last_name,
                    company=face.company,
                    campaign=face.original_campaign,
                    seen_at=face.first_seen_at,
                ):
                    weighed.add(cid)
    return weighed


def object_slot(
    held: ObjectHeld | None, slots: dict[int, Slot], object_slots: dict[str, Slot]
) -> Slot | None:
    """The slot of the contact a record's object already has: held in the database (a contact
    merged away or erased meanwhile has no slot, and the record is resolved as any other), or
    given to a record of this chunk about the same object."""
    if held is None:
        return None
    if held.contact_id is not None and held.contact_id in slots:
        return slots[held.contact_id]
    return next((object_slots[key] for key in sorted(held.keys) if key in object_slots), None)


def identifier_owners(
    org: Organization, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], set[int]]:
    owners: dict[tuple[str, str], set[int]] = defaultdict(set)
    for _, contact_id, kind, value, _, merged in identifier_rows_holding(org, pairs):
        if not merged:
            owners[(kind, value)].add(contact_id)
    return owners


def name_candidates(
    org, keys: Sequence[RecordKeys], shared
) -> tuple[dict[str, list[int]], dict[int, Face]]:
    """Name key -> namesake ids (newest first, at most NAME_CANDIDATE_CAP), and each namesake's
    columns: one read, the profile a name decision needs comes with the ids."""
    wanted = {k for ks in keys for k in blocking_keys(ks, shared=shared) if k.startswith("n:")}
    index: dict[str, list[int]] = defaultdict(list)
    faces: dict[int, Face] = {}
    if not wanted:
        return index, faces
    if connection.vendor == "postgresql":
        # The newest CAP contacts per key, read off the (org, key, contact) index: a common
        # surname must not make every resolve read every namesake the org ever had.
        # Only table names from the models are interpolated; every value is a parameter.
        # The date comes as whole microseconds since the epoch: a backfill reads a million of
        # these, and psycopg decodes an integer in C where Django's timestamptz loader is Python.
        sql = (
            "SELECT k.key, n.* FROM unnest(%s::text[]) AS k(key) CROSS JOIN LATERAL ("  # noqa: S608
            "SELECT nk.contact_id, c.first_name, c.last_name, c.company, c.original_campaign, "
            "(EXTRACT(EPOCH FROM c.first_seen_at) * 1000000)::bigint "
            f"FROM {ContactNameKey._meta.db_table} nk "
            f"JOIN {Contact._meta.db_table} c ON c.id = nk.contact_id "
            "WHERE nk.org_id = %s AND nk.key = k.key AND c.merged_into_id IS NULL "
            "ORDER BY nk.contact_id DESC LIMIT %s) AS n"
        )
        with bound_cursor(connection) as cursor:
            cursor.execute(sql, [sorted(wanted), org.pk, NAME_CANDIDATE_CAP])
            for key, pk, first, last, company, campaign, micros in cursor.fetchall():
                if pk not in faces:
                    seen_at = None if micros is None else EPOCH + timedelta(microseconds=micros)
                    faces[pk] = Face(pk, first, last, company, campaign, seen_at)
                index[key].append(pk)  # LIMIT keeps each key within the cap
        return index, faces
    rows = (
        ContactNameKey.objects.for_org(org)
        .filter(key__in=wanted, contact__merged_into__isnull=True)
        .order_by("key", "-contact_id")
        .values_list("key", *(f"contact__{name}" for name in Face._fields))
    )
    for key, *face in rows:
        if len(index[key]) < NAME_CANDIDATE_CAP:
            index[key].append(face[0])
            faces[face[0]] = Face(*face)
    return index, faces


def load_slots(
    org: Organization,
    owner_ids: set[int],
    faces: dict[int, Face],
    weighed: set[int],
) -> dict[int, Slot]:
    """Slots for every candidate: identifier owners as locked rows (they usually match), and
    the namesakes some record of the chunk could match as their columns and identifiers, not
    yet locked (most still don't match)."""
    identifiers: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if owner_ids or weighed:
        # Only the kinds a profile reads: canonical emails and event ids are half the rows.
        for contact_id, kind, value in Identifier.objects.filter(
            contact_id__any=owner_ids | weighed, kind__any=sorted(PROFILE_KINDS)
        ).values_list("contact_id", "kind", "value"):
            identifiers[contact_id].append((kind, value))
    live = Contact.objects.for_org(org).filter(merged_into__isnull=True)
    slots = (
        {
            c.pk: Slot(pk=c.pk, contact=c, profile=profile_of(c, identifiers[c.pk]))
            for c in live.filter(pk__any=owner_ids).select_for_update()
        }
        if owner_ids
        else {}
    )
    for pk in weighed:
        slots[pk] = Slot(pk=pk, contact=None, profile=profile_of(faces[pk], identifiers[pk]))
    return slots


def materialize(org: Organization, slot: Slot, slots: dict[int, Slot]) -> bool:
    """Locks and reads a matched namesake's row; False (and forgotten) if it is gone."""
    if slot.contact is not None:
        return True
    contact = (
        Contact.objects.for_org(org)
        .select_for_update()
        .filter(pk=slot.pk, merged_into__isnull=True)
        .first()
    )
    if contact is None:
        slots.pop(slot.pk, None)
        return False
    slot.contact = contact
    return True
