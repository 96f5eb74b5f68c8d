"""Identity resolution and merges: the one place contacts are created, matched, merged, unmerged.

Every ingestion path (webhooks, nightly sync, admin, the demo seed) calls ``contact_resolve`` or
its batch form ``contact_resolve_many``. The decisions themselves are made by the pure
``attribution.identity`` package; this module finds candidates in the database, applies the
decisions and keeps the alias table consistent under concurrency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Count, Q
from django.utils import timezone

from apps.contacts.lookups import identifier_rows_holding
from apps.contacts.models import (
    BlockedIdentifier,
    Contact,
    ContactMerge,
    ContactNameKey,
    Identifier,
    IdentifierKind,
    MergeCandidate,
    SourceRecord,
)
from apps.contacts.resolution.candidates import EPOCH, Face, Slot, gather_candidates
from apps.contacts.resolution.placing import Placement, write_reviews
from apps.contacts.resolution.records import (
    NAME_CANDIDATE_CAP,
    PROFILE_KINDS,
    ObjectHeld,
    ResolveResult,
    cached_profile,
    fields_of,
    lookup_pairs,
    observation_values,
    person_record,
    shared_key,
    store_fields,
)
from apps.contacts.resolution.weighing import weigh
from apps.orgs.bulk import bound_cursor, bulk_insert, insert_rows
from apps.orgs.locks import LockNamespace, xact_lock
from apps.orgs.models import Organization, User
from apps.orgs.services import audit_log_write
from attribution.identity.match import (
    Outcome,
    PersonRecord,
    Profile,
    blocking_keys,
    decide,
    may_match_by_name,
    record_keys,
)
from attribution.identity.normalize import normalize_email, normalize_phone
from attribution.identity.survivorship import ContactFields, FieldObservation, survive
from attribution.sources.records import PersonObservation


class IdentityError(ValueError):
    pass


# --- locking --------------------------------------------------------------------------------


def _lock_identifiers(org: Organization, pairs: Iterable[tuple[str, str]]) -> None:
    """Transaction-scoped advisory locks, one per identifier value, taken in a fixed order.

    Two resolves that share any value serialise here; the partial unique index on
    (org, kind, value) is the backstop should anything slip past.
    """
    xact_lock(LockNamespace.IDENTIFIER, org.pk, [(kind, value) for kind, value in pairs])


# --- resolve ------------------------------------------------------------------------------


# Records resolved per pass: the candidates a pass loads grow with it (a common name brings up
# to NAME_CANDIDATE_CAP namesakes per record), and memory must not grow with the page.
RESOLVE_CHUNK = 400


def contact_resolve(
    *,
    org: Organization,
    observation: PersonObservation,
    lead_status: str | None = None,
    held: ObjectHeld | None = None,
    created: list[int] | None = None,
) -> ResolveResult:
    """The contact this observation belongs to, created when nobody matches."""
    return contact_resolve_many(
        org=org, observations=[observation], lead_status=lead_status, held=[held], created=created
    )[0]


def contact_resolve_many(
    *,
    org: Organization,
    observations: Sequence[PersonObservation],
    lead_status: str | None = None,
    held: Sequence[ObjectHeld | None] | None = None,
    created: list[int] | None = None,
) -> list[ResolveResult]:
    """Resolves a batch in one transaction with a fixed number of queries per batch.

    Same decisions as one at a time (records are taken oldest first, and each sees the ones
    before it), so the nightly sync and a backfill can feed thousands of records per call.
    ``held``, one per observation: the provider objects it is about (ObjectHeld). ``created``,
    when given, gets the ids of the contacts created (some may be rolled back with a savepoint
    later: readers look them up and skip the missing).
    """
    if not observations:
        return []
    held = list(held) if held is not None else [None] * len(observations)
    if len(held) != len(observations):
        raise ValueError("held must give one entry per observation")
    results: list[ResolveResult] = []
    # Object key -> the contact an earlier chunk put it on.
    placed: dict[str, int] = {}
    with transaction.atomic():
        # Chunks in order, each seeing what the ones before it wrote: the decisions are still
        # those of one record at a time.
        for start in range(0, len(observations), RESOLVE_CHUNK):
            chunk = observations[start : start + RESOLVE_CHUNK]
            objects = [_placed(h, placed) for h in held[start : start + RESOLVE_CHUNK]]
            chunk_results = _resolve_chunk(org, chunk, lead_status, objects)
            for h, result in zip(objects, chunk_results, strict=True):
                for key in h.keys if h is not None else ():
                    placed.setdefault(key, result.contact.pk)
            results += chunk_results
            if created is not None:
                created.extend(
                    dict.fromkeys(result.contact.pk for result in chunk_results if result.created)
                )
    return results


def _placed(held: ObjectHeld | None, placed: dict[str, int]) -> ObjectHeld | None:
    if held is None or held.contact_id is not None:
        return held
    contact_id = next((placed[key] for key in sorted(held.keys) if key in placed), None)
    return replace(held, contact_id=contact_id) if contact_id is not None else held


def _resolve_chunk(
    org: Organization,
    observations: Sequence[PersonObservation],
    lead_status: str | None,
    held: Sequence[ObjectHeld | None] | None = None,
) -> list[ResolveResult]:
    """One chunk: gather the candidates, then weigh and place each record in the order the
    records were seen, then write (apps.contacts.resolution)."""
    held = held if held is not None else [None] * len(observations)
    region = org.default_region or "US"
    records = [person_record(str(i), o, region) for i, o in enumerate(observations)]
    keys = [record_keys(r) for r in records]
    values = [observation_values(o, region) for o in observations]
    lookups = {pair for k in keys for pair in lookup_pairs(k)}
    all_pairs = lookups | {(kind, v) for vs in values for kind, v, _ in vs.rows}

    with transaction.atomic(savepoint=False):
        _lock_identifiers(org, all_pairs)
        found = gather_candidates(org, keys=keys, held=held, lookups=lookups)
        placement = Placement(org=org, region=region, lead_status=lead_status)
        order = sorted(range(len(records)), key=lambda i: (observations[i].observed_at, i))
        results: dict[int, ResolveResult] = {}
        for i in order:
            weighed = weigh(
                keys[i], found.for_record(i, keys[i], placement.batch_index), shared=found.shared
            )
            results[i] = placement.place(
                keys=keys[i],
                block=found.blocks[i],
                observation=observations[i],
                values=values[i],
                held=held[i],
                weighed=weighed,
                slots=found.slots,
            )
        placement.write()
        review_ids = write_reviews(org, placement.reviews)
    return [
        replace(results[i], review_with=tuple(sorted(review_ids.get(results[i].contact.pk, ()))))
        for i in range(len(records))
    ]


# --- namesakes created side by side ------------------------------------------------------


def namesakes_review(*, org: Organization, contact_ids: Iterable[int], among: Iterable[int]) -> int:
    """Weighs each of ``contact_ids`` against its namesakes in ``among``, contacts created in a
    transaction that ran beside its own (a sync's page workers), so neither saw the other when
    it was resolved. A pair the resolver's rules would match or review becomes a MergeCandidate:
    both are existing contacts now, and two of those are never merged automatically. Returns
    the number of pairs weighed that were queued (new or already queued).

    Pairs that share an identifier never get here: the identifier locks made their transactions
    wait for each other, so the second one placed its record by that identifier.
    """
    contact_ids, among = set(contact_ids), set(among)
    if not contact_ids or not among:
        return 0
    name_keys: dict[int, set[str]] = defaultdict(set)
    for contact_id, key in (
        ContactNameKey.objects.for_org(org)
        .filter(contact_id__in=contact_ids | among)
        .values_list("contact_id", "key")
    ):
        name_keys[contact_id].add(key)
    index: dict[str, list[int]] = defaultdict(list)
    for contact_id in among:
        for key in name_keys.get(contact_id, ()):
            index[key].append(contact_id)
    pairs = {
        (x, y)
        for x in contact_ids
        for key in name_keys.get(x, ())
        for y in index.get(key, ())
        if x != y
    }
    if not pairs:
        return 0
    ids = {c for pair in pairs for c in pair}
    region = org.default_region or "US"
    faces, keys = {}, {}
    rows = Contact.objects.for_org(org).filter(pk__in=ids, merged_into__isnull=True)
    for pk, email, source, *face in rows.values_list(
        "pk", "primary_email", "original_source", *Face._fields[1:]
    ):
        faces[pk] = face = Face(pk, *face)
        if pk in contact_ids:
            # The contact as the record that created it. Its phone and provider ids are left
            # out: one shared with a namesake would have made their pages wait for each other.
            keys[pk] = record_keys(
                PersonRecord(
                    record_id=str(pk),
                    email=email or None,
                    first_name=face.first_name or None,
                    last_name=face.last_name or None,
                    company=face.company or None,
                    country=region,
                    created_at=face.first_seen_at,
                    utm_source=source or None,
                    utm_campaign=face.original_campaign or None,
                )
            )
    # Missing contacts were merged, or rolled back with their page's savepoint. As in the
    # resolver, a namesake is read with its identifiers only when a match is possible.
    weighed = sorted(
        (x, y)
        for x, y in pairs
        if x in keys
        and y in faces
        and may_match_by_name(
            keys[x],
            first_name=faces[y].first_name,
            last_name=faces[y].last_name,
            company=faces[y].company,
            campaign=faces[y].original_campaign,
            seen_at=faces[y].first_seen_at,
        )
    )
    identifiers: dict[int, list[tuple[str, str]]] = defaultdict(list)
    rows = Identifier.objects.filter(
        contact_id__in={y for _, y in weighed}, kind__in=PROFILE_KINDS
    ).values_list("contact_id", "kind", "value")
    for contact_id, kind, value in rows:
        identifiers[contact_id].append((kind, value))
    shared = frozenset(
        shared_key(kind, value)
        for kind, value in BlockedIdentifier.objects.for_org(org).values_list("kind", "value")
    )
    reviews = []
    for x, y in weighed:
        face = faces[y]
        profile = cached_profile(face.first_name, face.last_name, face.company, face.original_campaign,
                           face.first_seen_at, tuple(sorted(identifiers[y])))  # fmt: skip
        decision = decide(keys[x], profile, shared=shared)
        if decision.outcome is Outcome.NO_MATCH:
            continue
        decision = replace(
            decision, reasons=(*decision.reasons, "created side by side: an admin decides")
        )
        reviews.append((Slot(pk=x, contact=None, profile=Profile()),
                        Slot(pk=y, contact=None, profile=Profile()), decision))  # fmt: skip
    write_reviews(org, reviews)
    return len(reviews)


# --- namesakes created by transactions side by side, whichever wrote them ------------------------


@dataclass(frozen=True)
class NamesakeWindow:
    """What a transaction could not see when it resolved: contacts whose id the sequence gave
    after ``last_id``, and those that transactions already open then (the earliest began at
    ``open_since``) had written or were still writing. Taken before the transaction resolves."""

    last_id: int
    open_since: datetime | None


# created_at is the application's clock, transaction starts are the database's.
CLOCK_SKEW = timedelta(seconds=5)


def namesakes_window(*, org: Organization) -> NamesakeWindow | None:
    """One query, before a transaction resolves anyone; None where no two writers can run side
    by side (SQLite serialises them)."""
    del org  # the window is the database's; the review is per org
    if connection.vendor != "postgresql":
        return None
    sql = (
        "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence(%s, 'id')), 0), "
        # Other sessions of this database inside a transaction: what they write is not
        # committed yet, whenever it was written.
        "(SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
        "AND xact_start IS NOT NULL)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Contact._meta.db_table])
        last_id, open_since = cursor.fetchone()
    return NamesakeWindow(last_id=last_id, open_since=open_since)


def namesakes_beside(*, org: Organization, contact_ids: Sequence[int], window: NamesakeWindow):
    """Contacts that namesake ``contact_ids`` (created by one transaction, now committed) and
    were created by other transactions its resolve could not see (``window``): at most
    NAME_CANDIDATE_CAP per name key and side of the window, in one query."""
    if not contact_ids:
        return []
    nk, c = ContactNameKey._meta.db_table, Contact._meta.db_table
    # Only table names from the models are interpolated; every value is a parameter. Both
    # sides walk the (org, key, contact) index from the window's edge, so neither reads an old
    # namesake: ids after last_id, and the newest before it, kept if written since open_since.
    sql = (
        # The keys by contact, off the (contact, key) index: with org_id in this filter the
        # planner walked the org's (org, key, contact) index instead, every key of the org. The
        # ids are this org's contacts, and each side below keeps to the org.
        f"WITH mine AS (SELECT DISTINCT key FROM {nk} "  # noqa: S608
        "WHERE contact_id = ANY(%(ids)s)) "
        "SELECT DISTINCT n.contact_id FROM mine CROSS JOIN LATERAL ("
        f"SELECT nk.contact_id FROM {nk} nk JOIN {c} c ON c.id = nk.contact_id "
        "WHERE nk.org_id = %(org)s AND nk.key = mine.key AND nk.contact_id > %(last)s "
        "AND nk.contact_id <> ALL(%(ids)s) AND c.merged_into_id IS NULL "
        "ORDER BY nk.contact_id LIMIT %(cap)s) AS n "
        "UNION "
        "SELECT o.contact_id FROM mine CROSS JOIN LATERAL ("
        f"SELECT nk.contact_id, c.created_at FROM {nk} nk JOIN {c} c ON c.id = nk.contact_id "
        "WHERE %(open)s AND nk.org_id = %(org)s AND nk.key = mine.key "
        "AND nk.contact_id <= %(last)s AND c.merged_into_id IS NULL "
        "ORDER BY nk.contact_id DESC LIMIT %(cap)s) AS o WHERE o.created_at >= %(since)s"
    )
    since = window.open_since - CLOCK_SKEW if window.open_since is not None else None
    params = {
        "org": org.pk,
        "ids": sorted(set(contact_ids)),
        "last": window.last_id,
        "cap": NAME_CANDIDATE_CAP,
        "open": since is not None,
        "since": since or EPOCH,
    }
    # Bound on the server: the id array, inlined twice, cost more to plan than to run.
    with bound_cursor(connection) as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def namesakes_review_beside(
    *, org: Organization, contact_ids: Sequence[int], window: NamesakeWindow
) -> int:
    """After a transaction that created ``contact_ids`` committed (a webhook's, a sync page's):
    its namesakes created by transactions that ran beside it, which neither resolve saw, are
    weighed as ``namesakes_review`` weighs them (a MergeCandidate, never a merge). The pairs
    are caught by whichever of the two commits second. Returns the pairs queued."""
    among = namesakes_beside(org=org, contact_ids=contact_ids, window=window)
    if not among:
        return 0
    return namesakes_review(org=org, contact_ids=contact_ids, among=among)


# --- provenance ---------------------------------------------------------------------------


def source_record_upsert(
    *,
    org: Organization,
    provider: str,
    object_type: str,
    external_id: str,
    payload: dict,
    contact: Contact | None,
    occurred_at: datetime | None = None,
) -> SourceRecord:
    row = SourceRecordRow(provider, object_type, external_id, payload, contact, occurred_at)
    return source_records_upsert_many(org=org, rows=[row])[0][0]


@dataclass(frozen=True)
class SourceRecordRow:
    provider: str
    object_type: str
    external_id: str
    payload: dict
    contact: Contact | None
    occurred_at: datetime | None = None


def source_records_upsert_many(
    *, org: Organization, rows: Sequence[SourceRecordRow]
) -> list[tuple[SourceRecord, bool]]:
    """Upserts provenance rows in two queries; each comes back with whether it changed
    (new, or a different payload or contact). A key given twice keeps the last row."""
    if not rows:
        return []
    keys = {(r.provider, r.object_type, r.external_id) for r in rows}
    before: dict[tuple, tuple] = {}
    query = Q()
    for provider, object_type in {(p, t) for p, t, _ in keys}:
        ids = [e for p, t, e in keys if (p, t) == (provider, object_type)]
        query |= Q(provider=provider, object_type=object_type, external_id__any=ids)
    existing = SourceRecord.objects.for_org(org).filter(query)
    for provider, object_type, external_id, payload, contact_id in existing.values_list(
        "provider", "object_type", "external_id", "payload", "contact_id"
    ):
        before[(provider, object_type, external_id)] = (payload, contact_id)
    last = {(r.provider, r.object_type, r.external_id): r for r in rows}
    records = {
        key: SourceRecord(
            org=org,
            provider=row.provider,
            object_type=row.object_type,
            external_id=row.external_id,
            payload=row.payload,
            contact=row.contact,
            occurred_at=row.occurred_at,
        )
        for key, row in last.items()
    }
    # One INSERT ... ON CONFLICT DO UPDATE: safe against a concurrent writer of the same key.
    bulk_insert(
        list(records.values()),
        unique_fields=["org", "provider", "object_type", "external_id"],
        update_fields=["payload", "contact", "occurred_at", "updated_at"],
    )
    results = []
    for row in rows:
        key = (row.provider, row.object_type, row.external_id)
        record = records[key]
        changed = before.get(key) != (record.payload, record.contact_id)
        results.append((record, changed))
    return results


# --- merge and unmerge --------------------------------------------------------------------

# Rows that belong to a contact and move with it in a merge (model, its contact field).
_MOVABLE: tuple[tuple[str, str, str], ...] = (
    ("source_records", "contacts.SourceRecord", "contact"),
    ("touchpoints", "contacts.Touchpoint", "contact"),
    ("meetings", "meetings.Meeting", "contact"),
    ("deals", "deals.Deal", "contact"),
    ("call_activities", "deals.CallActivity", "contact"),
    ("payments", "payments.Payment", "contact"),
    ("name_keys", "contacts.ContactNameKey", "contact"),
)
_SNAPSHOT_FIELDS = (
    "first_name", "last_name", "primary_email", "primary_phone", "company", "lead_status",
    "original_source", "original_medium", "original_campaign", "original_content",
    "original_term", "first_seen_at", "field_sources",
)  # fmt: skip


def _snapshot(contact: Contact) -> dict:
    data = {name: getattr(contact, name) for name in _SNAPSHOT_FIELDS}
    if data["first_seen_at"]:
        data["first_seen_at"] = data["first_seen_at"].isoformat()
    return data


def _restore(contact: Contact, snapshot: dict) -> None:
    for name in _SNAPSHOT_FIELDS:
        value = snapshot.get(name)
        if name == "first_seen_at" and value:
            value = datetime.fromisoformat(value)
        setattr(contact, name, value)


def _model(label: str) -> type[models.Model]:
    from django.apps import apps

    return apps.get_model(label)


def contact_merge(
    *,
    org: Organization,
    winner: Contact,
    loser: Contact,
    actor: User | None,
    reason: str = "",
) -> ContactMerge:
    """Moves everything of ``loser`` onto ``winner`` and records exactly what moved."""
    if winner.pk == loser.pk:
        raise IdentityError("A contact cannot be merged into itself.")
    with transaction.atomic():
        locked = {
            c.pk: c
            for c in Contact.objects.for_org(org)
            .select_for_update()
            .filter(pk__in=[winner.pk, loser.pk])
        }
        if len(locked) != 2:
            raise IdentityError("Both contacts must belong to this organisation.")
        winner, loser = locked[winner.pk], locked[loser.pk]
        if winner.merged_into_id or loser.merged_into_id:
            raise IdentityError("One of these contacts was already merged into another.")
        moved: dict = {"winner_before": _snapshot(winner), "loser_before": _snapshot(loser)}

        winner_values = {(i.kind, i.value): i for i in Identifier.objects.filter(contact=winner)}
        moved["winner_identifiers"] = {
            str(i.pk): [i.is_primary, i.shared] for i in winner_values.values()
        }
        moved["identifiers"], moved["identifiers_dropped"] = [], []
        for identifier in Identifier.objects.filter(contact=loser):
            if (identifier.kind, identifier.value) in winner_values:
                # The same value on both: keep the winner's row, remember the loser's exactly.
                moved["identifiers_dropped"].append(
                    {
                        "kind": identifier.kind, "value": identifier.value,
                        "raw": identifier.raw, "is_primary": identifier.is_primary,
                        "shared": identifier.shared, "source": identifier.source,
                        "created_at": identifier.created_at.isoformat(),
                    }
                )  # fmt: skip
                identifier.delete()
            else:
                moved["identifiers"].append([identifier.pk, identifier.is_primary])
        Identifier.objects.filter(pk__in=[pk for pk, _ in moved["identifiers"]]).update(
            contact=winner, is_primary=False
        )
        for name, label, field_name in _MOVABLE:
            model = _model(label)
            ids = list(model.objects.filter(**{field_name: loser}).values_list("pk", flat=True))
            if name == "name_keys":
                mine = set(
                    ContactNameKey.objects.filter(contact=winner).values_list("key", flat=True)
                )
                dropped = list(
                    ContactNameKey.objects.filter(contact=loser, key__in=mine).values_list(
                        "key", flat=True
                    )
                )
                ContactNameKey.objects.filter(contact=loser, key__in=mine).delete()
                moved["name_keys_dropped"] = dropped
                ids = list(
                    ContactNameKey.objects.filter(contact=loser).values_list("pk", flat=True)
                )
            model.objects.filter(pk__in=ids).update(**{field_name: winner})
            moved[name] = ids

        fields = fields_of(winner)
        loser_fields = fields_of(loser)
        if fields is not None and loser_fields is not None:
            fields = _survive_contact(fields, loser_fields)
            store_fields(winner, fields)
        else:
            _merge_plain_fields(winner, loser)
        winner.save()
        loser.merged_into = winner
        loser.save(update_fields=["merged_into", "updated_at"])
        MergeCandidate.objects.for_org(org).filter(
            contact_a_id=min(winner.pk, loser.pk), contact_b_id=max(winner.pk, loser.pk)
        ).update(status=MergeCandidate.Status.ACCEPTED, decided_at=timezone.now(), decided_by=actor)
        merge = ContactMerge.objects.create(
            org=org, winner=winner, loser=loser, actor=actor, reason=reason[:200], moved=moved
        )
        audit_log_write(
            org=org, actor=actor, action="contact.merge", target=merge,
            winner=winner.pk, loser=loser.pk, reason=reason,
        )  # fmt: skip
    return merge


def _survive_contact(fields: ContactFields, other: ContactFields) -> ContactFields:
    """The winner's fields after taking in everything the loser knew, by the same rules."""
    observation = FieldObservation(
        source=other.name_source or "merge",
        observed_at=other.first_seen_at,
        first_name=other.first_name or None,
        last_name=other.last_name or None,
        emails=other.emails,
        phones=other.phones,
        lead_status=other.lead_status,
        utm_source=other.utm_source or other.original_source,
        utm_medium=other.utm_medium,
        utm_campaign=other.utm_campaign,
        utm_content=other.utm_content,
        utm_term=other.utm_term,
    )
    return survive(fields, observation)


def _merge_plain_fields(winner: Contact, loser: Contact) -> None:
    # Contacts entered by hand carry no survivorship record: fill gaps, earliest touch wins.
    for name in ("first_name", "last_name", "primary_email", "primary_phone", "company"):
        if not getattr(winner, name):
            setattr(winner, name, getattr(loser, name))
    if loser.first_seen_at and (
        winner.first_seen_at is None or loser.first_seen_at < winner.first_seen_at
    ):
        winner.first_seen_at = loser.first_seen_at
        for name in ("original_source", "original_medium", "original_campaign",
                     "original_content", "original_term"):  # fmt: skip
            setattr(winner, name, getattr(loser, name))


def contact_unmerge(*, org: Organization, merge: ContactMerge, actor: User | None) -> None:
    """Puts both contacts back exactly as they were before ``merge``.

    Rows that reached the winner after the merge stay with it. Only the latest merge into a
    contact can be undone (undo later ones first), so the recorded state is still the truth.
    """
    with transaction.atomic():
        merge = ContactMerge.objects.for_org(org).select_for_update().get(pk=merge.pk)
        if merge.undone_at is not None:
            raise IdentityError("This merge was already undone.")
        later = (
            ContactMerge.objects.for_org(org)
            .filter(undone_at__isnull=True, created_at__gt=merge.created_at)
            .filter(models.Q(winner=merge.winner) | models.Q(loser=merge.winner))
            .exists()
        )
        if later or merge.winner.merged_into_id:
            raise IdentityError("Undo the later merges of this contact first.")
        if merge.winner.erased_at or merge.loser.erased_at:
            raise IdentityError("This person's data was erased: the merge cannot be undone.")
        winner = Contact.objects.select_for_update().get(pk=merge.winner_id)
        loser = Contact.objects.select_for_update().get(pk=merge.loser_id)
        moved = merge.moved
        for pk, is_primary in moved.get("identifiers", []):
            Identifier.objects.filter(pk=pk, contact=winner).update(
                contact=loser, is_primary=is_primary
            )
        for pk, (is_primary, shared) in moved.get("winner_identifiers", {}).items():
            Identifier.objects.filter(pk=int(pk)).update(is_primary=is_primary, shared=shared)
        for row in moved.get("identifiers_dropped", []):
            Identifier.objects.create(
                org=org, contact=loser, kind=row["kind"], value=row["value"], raw=row["raw"],
                is_primary=row["is_primary"], shared=row["shared"], source=row["source"],
            )  # fmt: skip
        for name, label, field_name in _MOVABLE:
            _model(label).objects.filter(pk__in=moved.get(name, []), **{field_name: winner}).update(
                **{field_name: loser}
            )
        ContactNameKey.objects.bulk_create(
            [
                ContactNameKey(org=org, contact=loser, key=k)
                for k in moved.get("name_keys_dropped", [])
            ],
            ignore_conflicts=True,
        )
        _restore(winner, moved["winner_before"])
        winner.save()
        _restore(loser, moved["loser_before"])
        loser.merged_into = None
        loser.save()
        merge.undone_at = timezone.now()
        merge.undone_by = actor
        merge.save(update_fields=["undone_at", "undone_by"])
        audit_log_write(
            org=org, actor=actor, action="contact.unmerge", target=merge,
            winner=winner.pk, loser=loser.pk,
        )  # fmt: skip


def contact_merge_many(
    *, org: Organization, contacts: Sequence[Contact], actor: User | None
) -> list[ContactMerge]:
    """Merges several contacts into the one seen first (the admin's "merge selected")."""
    live = [c for c in contacts if c.merged_into_id is None]
    if len(live) < 2:
        raise IdentityError("Select at least two contacts that were not merged already.")
    ordered = sorted(live, key=lambda c: (c.first_seen_at or timezone.now(), c.pk))
    winner = ordered[0]
    return [
        contact_merge(org=org, winner=winner, loser=loser, actor=actor, reason="manual merge")
        for loser in ordered[1:]
    ]


def merge_candidate_accept(*, candidate: MergeCandidate, actor: User | None) -> ContactMerge:
    if candidate.status != MergeCandidate.Status.PENDING:
        raise IdentityError("This pair was already decided.")
    a, b = candidate.contact_a, candidate.contact_b
    winner, loser = sorted((a, b), key=lambda c: (c.first_seen_at or timezone.now(), c.pk))
    merge = contact_merge(
        org=candidate.org, winner=winner, loser=loser, actor=actor,
        reason="review: " + "; ".join(candidate.reasons)[:180],
    )  # fmt: skip
    candidate.refresh_from_db()
    return merge


def merge_candidate_reject(*, candidate: MergeCandidate, actor: User | None) -> None:
    if candidate.status != MergeCandidate.Status.PENDING:
        raise IdentityError("This pair was already decided.")
    with transaction.atomic():
        candidate.status = MergeCandidate.Status.REJECTED
        candidate.decided_by = actor
        candidate.decided_at = timezone.now()
        candidate.save(update_fields=["status", "decided_by", "decided_at"])
        audit_log_write(
            org=candidate.org, actor=actor, action="merge_candidate.reject", target=candidate
        )


def identifier_value_clean(*, kind: str, value: str, region: str = "US", typed: bool = True) -> str:
    """An identifier value typed by hand, in the form the resolver stores and looks up.

    Raises ValidationError when it is not one: a phone that is not a valid number belongs under
    "phone_raw", which is kept but never matched on; a mailbox (``typed``: a new value, not one
    kept as it was) follows the contact's emails and is never typed by itself.
    """
    value = (value or "").strip()
    if kind == IdentifierKind.EMAIL_CANONICAL and typed:
        raise ValidationError(
            "A mailbox follows the contact's emails: add or correct the email instead.",
            code="derived_mailbox",
        )
    if kind in (IdentifierKind.EMAIL, IdentifierKind.EMAIL_CANONICAL):
        email = normalize_email(value)
        if email is None:
            raise ValidationError("Not an email address.", code="invalid_email")
        return email.value if kind == IdentifierKind.EMAIL else email.canonical
    if kind == IdentifierKind.PHONE:
        phone = normalize_phone(value, default_region=region)
        if phone is None or phone.e164 is None:
            raise ValidationError(
                "Not a valid phone number. Give it with its country code (+1 415 ...), or "
                "store it as an invalid phone, which is kept but never matched on.",
                code="invalid_phone",
            )
        return phone.e164
    if not value:
        raise ValidationError("A value is required.", code="required")
    return value


def contact_name_keys_sync(*, contact: Contact) -> int:
    """Files a contact under its current name's blocking keys, as the resolver does for every
    name a record brings: a name typed in the admin must find its namesakes too. Keys of the
    names it had stay (records under them were this person). Returns the keys added."""
    name = record_keys(
        PersonRecord(record_id="admin", first_name=contact.first_name, last_name=contact.last_name)
    )
    keys = [k for k in blocking_keys(name) if k.startswith("n:")]
    have = set(contact.name_keys.values_list("key", flat=True))
    rows = [
        {"org_id": contact.org_id, "contact_id": contact.pk, "key": k}
        for k in keys
        if k not in have
    ]
    insert_rows(ContactNameKey, rows, ignore_conflicts=True)
    return len(rows)


def identifier_mailboxes_sync(*, contact: Contact) -> int:
    """Keeps a contact's canonical-mailbox rows in step with its emails, as the resolver and
    merges keep them: one per email, none left over from an email edited or deleted in admin.

    The resolver finds a person by that row; and it skips reading a namesake's emails on the
    promise that every email of theirs is also held as a mailbox. Returns the rows added. A
    mailbox another contact holds becomes shared on both.
    """
    org = contact.org
    emails = contact.identifiers.filter(kind=IdentifierKind.EMAIL).values_list("value", "raw")
    wanted: dict[str, str] = {}
    for value, raw in emails:
        email = normalize_email(value)
        if email is not None:
            wanted.setdefault(email.canonical, raw or value)
    with transaction.atomic():
        contact.identifiers.filter(kind=IdentifierKind.EMAIL_CANONICAL).exclude(
            value__in=list(wanted)
        ).delete()
        if not wanted:
            return 0
        pairs = {(IdentifierKind.EMAIL_CANONICAL, canonical) for canonical in wanted}
        _lock_identifiers(org, pairs)
        held = defaultdict(set)
        for pk, contact_id, _, value, _, _ in identifier_rows_holding(org, pairs):
            held[value].add((pk, contact_id))
        rows = [
            {
                "org_id": org.pk,
                "contact_id": contact.pk,
                "kind": IdentifierKind.EMAIL_CANONICAL,
                "value": canonical,
                "raw": raw[:320],
                "shared": bool(held[canonical]),
            }
            for canonical, raw in wanted.items()
            if not any(contact_id == contact.pk for _, contact_id in held[canonical])
        ]
        others = [pk for row in rows for pk, _ in held[row["value"]]]
        if others:
            Identifier.objects.filter(pk__in=others).update(shared=True)
        insert_rows(Identifier, rows)
    return len(rows)


def identifier_counts(*, org: Organization, kind: str, value: str) -> int:
    """How many live contacts carry a value (for the admin's "shared" explanations)."""
    return (
        Identifier.objects.for_org(org)
        .filter(kind=kind, value=value, contact__merged_into__isnull=True)
        .aggregate(n=Count("contact", distinct=True))["n"]
    )


__all__ = [
    "IdentityError",
    "NamesakeWindow",
    "ObjectHeld",
    "ResolveResult",
    "SourceRecordRow",
    "contact_merge",
    "contact_merge_many",
    "contact_resolve",
    "contact_resolve_many",
    "contact_unmerge",
    "merge_candidate_accept",
    "merge_candidate_reject",
    "namesakes_beside",
    "namesakes_review",
    "namesakes_review_beside",
    "namesakes_window",
    "source_record_upsert",
    "source_records_upsert_many",
]
