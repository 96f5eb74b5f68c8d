"""The one ingestion path: a typed record from a webhook or a sync -> contacts, meetings, deals, money.

Webhooks (apps/integrations/webhooks.py) and the nightly sync both parse with
``attribution.sources.<provider>`` and hand each record to :func:`ingest_record`. Every step is an
upsert keyed by the provider's own id, so the same record twice, or from both paths, leaves one row
and reports ``UNCHANGED`` the second time.

What a record type does is its provider's handler (``providers/<name>/records.py``, looked up in
the registry by the record's type); this module is what every ingestion does around them: lock
the objects, find those already held by a contact or by an erased person, resolve the page's
people ahead, apply runs of one type in savepoints, and weigh the namesakes it created against
those of the transactions beside it. The batch's state travels in one IngestContext.
Org-dependent parsing (which form answer is the email, how a CRM call says "no-show") is each
provider's ``parse``, so both paths parse the same way (:func:`parse_payload`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.db.models import Q

from apps.contacts import suppression
from apps.contacts.models import Contact, SourceRecord
from apps.contacts.privacy import erased_contacts_scrub
from apps.contacts.services import (
    ObjectHeld,
    ResolveResult,
    namesakes_review_beside,
    namesakes_window,
)
from apps.deals.models import CallActivity, Deal
from apps.integrations.ingest_context import Erased, Held, IngestContext
from apps.integrations.lock_races import retrying_lock_races
from apps.integrations.providers import provider_named, record_handler
from apps.integrations.providers.base import ObjectLookup, RecordHandler
from apps.meetings.models import Meeting
from apps.orgs.locks import LockNamespace, xact_lock
from apps.orgs.models import Organization
from apps.orgs.outcomes import Outcome
from apps.payments.models import Payment
from attribution.sources.records import ParseError, PersonObservation, UnsupportedEvent

__all__ = ["IngestContext", "Outcome", "ingest_record", "ingest_records", "parse_payload"]

Item = tuple[object, Mapping[str, Any] | None]


def parse_payload(*, org: Organization, provider: str, envelope: Mapping[str, Any]) -> object:
    """A webhook envelope -> one typed record, parsed with the org's settings.

    Raises ParseError for a body lacking what the provider always sends, UnsupportedEvent for an
    event type this app does not process.
    """
    spec = provider_named(provider, default=None)
    if spec is None:
        raise UnsupportedEvent(provider, "unknown provider")  # type: ignore[arg-type]
    return spec.parse(org, envelope)


def _handler(record: object) -> RecordHandler:
    handler = record_handler(record)
    if handler is None:
        raise TypeError(f"no ingestion for {type(record).__name__}")
    return handler


def _maybe_handler(record: object) -> RecordHandler | None:
    return record_handler(record)


# --- entry points -------------------------------------------------------------------------------


def ingest_record(
    *, org: Organization, record: object, via: str, raw: Mapping[str, Any] | None = None
) -> Outcome:
    """Applies one parsed record; idempotent, any order, safe under concurrency.

    ``via`` is "webhook" or "sync". ``raw`` is the provider's own object, kept as provenance
    (without it, the record itself is stored). Raises ``MeetingNotYetKnown`` (and other
    transient errors) for the caller to retry; everything else it does happens in one
    transaction, so a failure leaves nothing half-written.
    """
    _check_via(via)
    with transaction.atomic():
        _lock_objects(org, [record])
        # The webhook inbox holds the delivery being applied: it is erased too.
        ctx = IngestContext(org=org)
        with _NamesakesSideBySide(ctx), _ErasedPeople(ctx, [record], deliveries=True):
            ctx.held = _held_for(org, [record])
            return _apply(ctx, [(record, raw)])[0]


def ingest_records(
    *,
    org: Organization,
    items: Sequence[Item],
    via: str,
) -> list[Outcome | Exception]:
    """Applies a page of (record, raw) pairs in one transaction, with the rows and outcomes
    ``ingest_record`` gives one at a time.

    Contacts are resolved for the whole page in one pass, and the record types whose handlers
    are ``bulk`` (form responses, CRM leads and opportunities) are written a run at a time: a
    fixed number of queries per page instead of about twenty per record. A record the services refuse comes back as its exception, in its
    place, with nothing of it written; any other error rolls the page back and propagates.
    """
    _check_via(via)
    if not items:
        return []
    results: list[Outcome | Exception] = []
    records = [record for record, _ in items]
    with transaction.atomic():
        _lock_objects(org, records)
        ctx = IngestContext(org=org)
        with (
            _NamesakesSideBySide(ctx),
            _ErasedPeople(ctx, records, deliveries=via == "webhook"),
        ):
            ctx.held = _held_for(org, records)
            ctx.preresolved = _preresolve(ctx, items)
            for run in _runs(items):
                results += _apply_isolated(ctx, run)
    return results


_REFUSED = (ParseError, UnsupportedEvent, ValidationError)


def _check_via(via: str) -> None:
    if via not in ("webhook", "sync"):
        raise ValueError(f"via must be 'webhook' or 'sync', not {via!r}")


def _object_key(record: object) -> str | None:
    handler = _maybe_handler(record)
    return handler.object_key(record) if handler is not None else None


def _runs(items: Sequence[Item]):
    """Consecutive records of one type, cut where an object repeats: a run is applied in bulk,
    and the second sighting of an object must see what the first one wrote."""
    run: list = []
    keys: set = set()
    for item in items:
        key = _object_key(item[0]) or id(item[0])
        if run and (type(item[0]) is not type(run[0][0]) or key in keys):
            yield run
            run, keys = [], set()
        run.append(item)
        keys.add(key)
    if run:
        yield run


def _apply(ctx: IngestContext, items: Sequence[Item]) -> list[Outcome]:
    """Applies records of one type, each object once (the caller holds their locks)."""
    handler = _handler(items[0][0])
    if handler.bulk:
        return handler.apply(ctx, items)
    return [handler.apply_one(ctx, record, raw) for record, raw in items]


def _apply_isolated(ctx: IngestContext, items: Sequence[Item]) -> list[Outcome | Exception]:
    """A run in one savepoint; when something in it is refused, each record in its own."""
    try:
        with transaction.atomic():
            return _apply(ctx, items)
    except _REFUSED as exc:
        if len(items) == 1:
            return [exc]
    except (DataError, IntegrityError):
        if len(items) == 1:
            raise
    results: list[Outcome | Exception] = []
    for item in items:
        try:
            with transaction.atomic():
                results += _apply(ctx, [item])
        except _REFUSED as exc:
            results.append(exc)
    return results


def _persons(record: object) -> list[tuple[PersonObservation, str | None]]:
    """The people a record's handler resolves, and the lead status it resolves them with."""
    handler = _maybe_handler(record)
    return handler.persons(record) if handler is not None else []


def _preresolve(
    ctx: IngestContext, items: Sequence[Item]
) -> dict[tuple[int, str | None], ResolveResult]:
    """Every person the page names, resolved in one contact_resolve_many per lead status."""
    by_status: dict[str | None, list[PersonObservation]] = {}
    for record, _ in items:
        if ctx.erased_contact(record) is not None:
            continue  # their erased contact, never resolved again (IngestContext.resolved)
        for person, status in _persons(record):
            by_status.setdefault(status, []).append(person)
    if sum(map(len, by_status.values())) < 2:
        return {}  # one person: the handler's own contact_resolve is the same work
    resolved = {}
    try:
        with transaction.atomic():
            for status, people in by_status.items():
                results = ctx.resolve_many(
                    people, held=[ctx.held_person(person) for person in people], lead_status=status
                )
                for person, result in zip(people, results, strict=True):
                    resolved[(id(person), status)] = result
    except _REFUSED:
        return {}  # each handler resolves its own, and the refused one fails alone
    return resolved


# --- people erased here -----------------------------------------------------------------------


class _ErasedPeople:
    """While records are applied: those about an object already held for an erased person
    go to that nameless contact, their person unresolved, their raw object unstored. A
    provider still holding the person must not bring them back; their calls, deals and money
    still move the org's numbers. What the handlers wrote about them is erased again after."""

    def __init__(self, ctx: IngestContext, records: Sequence[object], *, deliveries: bool):
        self.ctx = ctx
        self.records = records
        self.deliveries = deliveries

    def __enter__(self) -> None:
        self.ctx.erased = _erased_for(self.ctx.org, self.records)

    def __exit__(self, exc_type, *exc_info) -> None:
        erased = self.ctx.erased
        if exc_type is None and erased is not None:
            erased_contacts_scrub(
                org=self.ctx.org,
                contact_ids=erased.contacts,
                deliveries=self.deliveries,
                tokens=erased.tokens,
            )


def _object_lookups(record: object) -> list[ObjectLookup]:
    """(stored model, provider, object type, external id) of the objects a record is about."""
    handler = _maybe_handler(record)
    return handler.objects(record) if handler is not None else []


def _erased_for(org: Organization, records: Sequence[object]) -> Erased | None:
    if not suppression.forgets_anyone(org=org):
        return None  # the case of nearly every page
    lookups = [[lk for lk in _object_lookups(record) if lk[3]] for record in records]
    # Erased rows keep provider ids as keyed hashes: clear again until the scrub, so the
    # services below find and update them rather than create second rows.
    revealed = suppression.pseudonyms_reveal(
        org=org, external_ids={lk[3] for lks in lookups for lk in lks}
    )
    owners = {
        (*kind, external_id): contact_id
        for kind, external_id, contact_id in _owners_of(org, lookups, owner=ERASED_OWNER)
    }
    contacts = Contact.objects.for_org(org).in_bulk(set(owners.values()))
    erased = Erased({}, {}, contacts=revealed)
    for record, record_lookups in zip(records, lookups, strict=True):
        contact_id = next((owners[lk] for lk in record_lookups if lk in owners), None)
        if contact_id is None:
            continue
        erased.records[id(record)] = contacts[contact_id]
        for person, _ in _persons(record):
            erased.people[id(person)] = contacts[contact_id]
    _suppressed(org, records, erased)
    if not erased.records and not erased.contacts:
        return None
    _to_scrub(org, records, lookups, erased)
    return erased


def _to_scrub(
    org: Organization, records: Sequence[object], lookups: list[list[ObjectLookup]], erased: Erased
) -> None:
    """What the scrub after the batch erases again: the erased records' contacts, and what
    their objects and people carry in clear."""
    for record, record_lookups in zip(records, lookups, strict=True):
        if id(record) in erased.records:
            erased.contacts.add(erased.records[id(record)].pk)
            erased.tokens |= {lk[3] for lk in record_lookups}
            for person in _people_of(record):
                erased.tokens |= suppression.observation_tokens(org=org, person=person)


def _people_of(record: object) -> list[PersonObservation]:
    handler = _maybe_handler(record)
    return handler.people(record) if handler is not None else []


def _suppressed(org: Organization, records: Sequence[object], erased: Erased) -> None:
    """Adds the records whose person was suppressed at erasure: a new object about them (a new
    form, a new booking, a new payment) goes to their nameless contact too."""
    pending = [record for record in records if id(record) not in erased.records]
    found = suppression.suppressed_contacts(
        org=org, people=[person for record in pending for person in _people_of(record)]
    )
    for record in pending:
        for person in _people_of(record):
            if id(person) in found:
                erased.records.setdefault(id(record), found[id(person)])
                erased.people[id(person)] = found[id(person)]


# --- locks ---------------------------------------------------------------------------------------


def _object_lock_keys(record: object) -> list[str]:
    """What ``_lock_objects`` locks for a record: its object, and the objects it finds its
    person by (_held_for) that two records could reach by different keys: a payment by
    each id its events carry (so two events of one new payment cannot both find it missing),
    the two halves of a reschedule."""
    handler = _maybe_handler(record)
    keys = handler.lock_keys(record) if handler is not None else None
    return keys if keys is not None else _held_keys(record)


def _lock_objects(org: Organization, records: Sequence[object]) -> None:
    """Serialises ingestions of each provider object, so "created" is reported exactly once and
    the before/after comparisons see no concurrent writer. Taken before any identifier lock of
    contact_resolve, in every ingestion alike and in key order, so no two ingestions deadlock."""
    xact_lock(
        LockNamespace.INGEST_OBJECT,
        org.pk,
        [key for record in records for key in _object_lock_keys(record)],
    )


# --- namesakes created side by side ---------------------------------------------------------------


class _NamesakesSideBySide:
    """Two namesakes created at the same moment by two transactions (two webhooks, two
    providers' syncs, a webhook and a sync page) were weighed by neither resolve: each ran
    before the other committed. Once this transaction commits, the contacts it created are
    weighed against those of the transactions that ran beside it (``namesakes_review_beside``:
    a bounded query per commit, a MergeCandidate for an admin, never a merge)."""

    def __init__(self, ctx: IngestContext):
        self.ctx = ctx

    def __enter__(self) -> None:
        self.window = namesakes_window(org=self.ctx.org)
        self.start = len(self.ctx.created)

    def __exit__(self, exc_type, *exc_info) -> None:
        if exc_type is not None:
            return
        ids = self.ctx.created[self.start :]
        org, window = self.ctx.org, self.window
        if window is not None and ids:
            # robust: the ingestion is committed by then, and a review that fails must not undo
            # its acknowledgement; what it missed an admin can still merge by hand.
            transaction.on_commit(lambda: _review_beside(org, list(ids), window), robust=True)


def _review_beside(org: Organization, contact_ids: list[int], window) -> None:
    # Its review rows lock the contacts they point to, which a running ingestion may hold.
    retrying_lock_races(
        lambda: namesakes_review_beside(org=org, contact_ids=contact_ids, window=window)
    )


# --- objects already held -----------------------------------------------------------------------


def _held_lookups(record: object) -> list[ObjectLookup]:
    """(stored model, provider, object type, external id) of every object a record is about,
    cross references included (each handler's ``references``: a payment's invoice or
    membership, a reschedule's other invitee)."""
    handler = _maybe_handler(record)
    if handler is None:
        return []
    lookups = [lk for lk in handler.objects(record) if lk[3]]
    lookups += handler.references(record)
    return list(dict.fromkeys(lookups))


def _held_key(lookup: ObjectLookup) -> str:
    model, provider, object_type, external_id = lookup
    return f"{model}:{provider}:{object_type or ''}:{external_id}"


def _held_keys(record: object) -> list[str]:
    return [_held_key(lookup) for lookup in _held_lookups(record)]


def _held_for(org: Organization, records: Sequence[object]) -> Held:
    """Each person the records name resolves to the contact their object already has (a
    payment by any of its ids, a booking by its invitee, a form response by its token, a CRM
    lead, call or deal by its id, a membership), before any identifier is matched: a
    person who gave nothing matchable (test@test.com, no email at all) is then one contact per
    object, not one per event. A fixed number of queries per page."""
    lookups = [_held_lookups(record) for record in records]
    owners: dict[str, int] = {}
    for kind, external_id, contact_id in _owners_of(org, lookups, owner=LIVE_OWNER):
        owners.setdefault(_held_key((*kind, external_id)), contact_id)
    held = Held({}, {})
    for record, record_lookups in zip(records, lookups, strict=True):
        if not record_lookups:
            continue
        keys = [_held_key(lookup) for lookup in record_lookups]
        contact_id = next((owners[key] for key in keys if key in owners), None)
        object_held = ObjectHeld(keys=frozenset(keys), contact_id=contact_id)
        held.records[id(record)] = object_held
        handler = _handler(record)
        if not handler.held_by_each_person(record):
            continue
        for person, _ in handler.persons(record):
            held.people[id(person)] = object_held
    return held


# Whose contact an object already held belongs to: an erased person's (their records stay
# nameless) or a live one's (one object, one contact). One lookup, two kinds of owner.
ERASED_OWNER = {"contact__erased_at__isnull": False}
LIVE_OWNER = {
    "contact__isnull": False,
    "contact__merged_into__isnull": True,
    "contact__erased_at__isnull": True,
}
# The rows each stored model of a lookup is kept in ("source": SourceRecord, by object type).
_STORED = {"meeting": Meeting, "deal": Deal, "call": CallActivity}


def _owners_of(
    org: Organization, lookups: list[list[ObjectLookup]], *, owner: dict
) -> Iterator[tuple[tuple[str, str, str | None], str, int]]:
    """((model, provider, object type), external id, contact id) of every object the lookups
    name whose contact matches ``owner``: one query per kind of object."""
    wanted: dict[tuple[str, str, str | None], set[str]] = {}
    for model, provider, object_type, external_id in (lk for lks in lookups for lk in lks):
        wanted.setdefault((model, provider, object_type), set()).add(external_id)
    for kind, ids in wanted.items():
        for external_id, contact_id in _object_owners(org, *kind, ids, owner=owner):
            yield kind, external_id, contact_id


def _object_owners(
    org: Organization,
    model: str,
    provider: str,
    object_type: str | None,
    ids: set[str],
    *,
    owner: dict,
) -> list[tuple[str, int]]:
    """(external id, contact id) of the objects among ``ids`` whose contact matches ``owner``."""
    ids = sorted(ids)  # one array parameter (field__any): a page's ids are a long IN list
    if model == "payment":
        rows = (
            Payment.objects.for_org(org)
            .filter(Q(external_id__any=ids) | Q(charge_id__any=ids), provider=provider, **owner)
            .values_list("external_id", "charge_id", "contact_id")
        )
        return [(key, contact) for ext, charge, contact in rows for key in (ext, charge) if key]
    if model == "source":
        queryset = SourceRecord.objects.for_org(org).filter(object_type=object_type)
    else:
        queryset = _STORED[model].objects.for_org(org)
    return list(
        queryset.filter(provider=provider, external_id__any=ids, **owner).values_list(
            "external_id", "contact_id"
        )
    )
