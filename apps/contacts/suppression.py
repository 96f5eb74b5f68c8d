"""Erasure that stays erased: keyed hashes of what identified an erased person.

``contact_erase`` writes one Suppression per identifier of the person (emails as typed and as a
mailbox, E.164 phones, provider person ids) and replaces the provider ids of the rows it keeps
for idempotency with the same keyed hashes ("pseudonyms"). Ingestion hashes what comes in the
same way (``ingest._erased_people``): a record whose person matches a suppression, or whose
object is held for an erased person, goes to their nameless contact and keeps nothing personal,
so a provider that still holds the person, or the person applying again, does not bring them
back. Only hashes are stored: a suppression recognises a value when it comes in again, and
cannot be turned back into it. An admin lifts a suppression when the person comes back and
consents (``suppressions_lift``).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Q
from django.utils import timezone

from apps.contacts.models import Contact, Identifier, IdentifierKind, SourceRecord, Suppression
from apps.contacts.resolution.records import observation_values as _observation_values
from apps.deals.models import CallActivity, Deal
from apps.meetings.models import Meeting
from apps.orgs.models import Organization, User
from apps.orgs.services import audit_log_write
from attribution.identity.normalize import normalize_email, normalize_phone
from attribution.sources.records import PersonObservation

PSEUDONYM_PREFIX = "hmac:"
# The columns that keep a provider's object id so a replayed record updates its row. A
# payment's ids stay in clear: the books need them (GDPR art. 17(3)(b)), and they name nobody.
PSEUDONYMIZED = (
    (SourceRecord, "external_id"),
    (Meeting, "external_id"),
    (Meeting, "replaces_external_id"),
    (Deal, "external_id"),
    (CallActivity, "external_id"),
    (CallActivity, "lead_external_id"),
)
_KINDS = {
    IdentifierKind.EMAIL: Suppression.Kind.EMAIL,
    IdentifierKind.EMAIL_CANONICAL: Suppression.Kind.EMAIL,
    IdentifierKind.PHONE: Suppression.Kind.PHONE,
    IdentifierKind.PHONE_RAW: Suppression.Kind.PHONE,
}


def _key() -> bytes:
    if settings.SUPPRESSION_HMAC_KEY:
        return settings.SUPPRESSION_HMAC_KEY.encode()
    # A key of its own, so these hashes reveal nothing about what SECRET_KEY signs elsewhere.
    return hmac.new(
        settings.SECRET_KEY.encode(), b"apps.contacts.suppression", hashlib.sha256
    ).digest()


def suppression_digest(value: str) -> str:
    return hmac.new(_key(), value.encode(), hashlib.sha256).hexdigest()


def pseudonym(value: str) -> str:
    """What a provider id of an erased person is stored as; a pseudonym is left as it is."""
    if not value or value.startswith(PSEUDONYM_PREFIX):
        return value
    return PSEUDONYM_PREFIX + suppression_digest(value)


def _kind(identifier_kind: str) -> str:
    return _KINDS.get(identifier_kind, Suppression.Kind.PROVIDER_ID)


def _identifies_one_person(kind: str, value: str) -> bool:
    # A placeholder typed to get past a form (test@test.com) names nobody: suppressing it
    # would strip everyone else who types it.
    if kind in (IdentifierKind.EMAIL, IdentifierKind.EMAIL_CANONICAL):
        email = normalize_email(value)
        return email is not None and not email.is_junk
    return bool(value)


def suppressions_write(*, org: Organization, contact: Contact, contact_ids: list[int]) -> int:
    """Suppresses every identifier the people ``contact_ids`` hold, for ``contact`` (the erased
    person's contact); call it before their identifiers are deleted. Returns the rows added."""
    pairs = set()
    identifiers = Identifier.objects.for_org(org).filter(contact_id__in=contact_ids, shared=False)
    for kind, value in identifiers.values_list("kind", "value"):
        if _identifies_one_person(kind, value):
            pairs.add((_kind(kind), suppression_digest(value)))
            if kind == IdentifierKind.EMAIL:
                pairs.add(
                    (Suppression.Kind.EMAIL, suppression_digest(normalize_email(value).canonical))
                )
    # An identifier suppressed already (the same person erased twice) keeps its first row.
    active = Suppression.objects.for_org(org).filter(
        lifted_at__isnull=True, digest__in=[d for _, d in pairs]
    )
    pairs -= set(active.values_list("kind", "digest"))
    person = uuid.uuid4()
    rows = [
        Suppression(org=org, person=person, contact=contact, kind=k, digest=d)
        for k, d in sorted(pairs)
    ]
    Suppression.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _observation_digests(person: PersonObservation, region: str) -> set[tuple[str, str]]:
    return {
        (_kind(kind), suppression_digest(value))
        for kind, value, _ in _observation_values(person, region).rows
    }


def observation_tokens(*, org: Organization, person: PersonObservation) -> set[str]:
    """The values that identify ``person`` inside a raw delivery: as typed and as stored."""
    rows = _observation_values(person, org.default_region or "US").rows
    return {text for _, value, raw in rows for text in (value, raw) if text}


def suppressed_contacts(
    *, org: Organization, people: Sequence[PersonObservation]
) -> dict[int, Contact]:
    """id() of each person in ``people`` whose identifiers are suppressed in ``org`` -> the
    nameless contact their data goes to."""
    region = org.default_region or "US"
    wanted = {id(person): _observation_digests(person, region) for person in people}
    digests = {digest for pairs in wanted.values() for _, digest in pairs}
    if not digests:
        return {}
    active = Suppression.objects.for_org(org).filter(lifted_at__isnull=True, digest__in=digests)
    rows = list(active.values_list("kind", "digest", "person", "contact_id"))
    if not rows:
        return {}
    adopted = _readopt(org, {person for _, _, person, contact in rows if contact is None})
    owner = {(kind, digest): contact or adopted[person] for kind, digest, person, contact in rows}
    contacts = Contact.objects.for_org(org).in_bulk(set(owner.values()))
    found = {}
    for key, pairs in wanted.items():
        contact_id = next((owner[p] for p in sorted(pairs) if p in owner), None)
        if contact_id is not None:
            found[key] = contacts[contact_id]
    return found


def _readopt(org: Organization, people: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    """A new nameless contact for each person whose erased contact was deleted since."""
    adopted = {}
    for person in people:
        contact = Contact.objects.create(org=org, erased_at=timezone.now())
        Suppression.objects.for_org(org).filter(person=person).update(contact=contact)
        adopted[person] = contact.pk
    return adopted


def forgets_anyone(*, org: Organization) -> bool:
    """Whether ``org`` erased anyone or suppresses anything: one probe of two partial indexes,
    false for nearly every page a sync applies."""
    erased = Contact.objects.for_org(org).filter(erased_at__isnull=False)
    active = Suppression.objects.for_org(org).filter(lifted_at__isnull=True)
    return Organization.objects.filter(Q(Exists(erased)) | Q(Exists(active)), pk=org.pk).exists()


def _erased(org: Organization):
    return Contact.objects.for_org(org).filter(erased_at__isnull=False).values("pk")


def pseudonyms_reveal(*, org: Organization, external_ids: Iterable[str]) -> set[int]:
    """Puts the clear ids of incoming records back into the erased rows stored under their
    pseudonyms, for the length of the caller's transaction: the ingestion services then find
    and update those rows by the provider's id, as for anyone else, and
    ``pseudonyms_write`` hashes them again before the transaction commits. Returns the
    contacts whose rows changed."""
    clear = {pseudonym(value): value for value in external_ids if value}
    touched: set[int] = set()
    if not clear:
        return touched
    for model, field in PSEUDONYMIZED:
        rows = list(
            model.objects.filter(
                org=org, contact__in=_erased(org), **{f"{field}__in": list(clear)}
            ).only("pk", "contact_id", field)
        )
        for row in rows:
            setattr(row, field, clear[getattr(row, field)])
            touched.add(row.contact_id)
        model.objects.bulk_update(rows, [field])
    return touched


def pseudonyms_write(*, org: Organization, contact_ids: list[int]) -> int:
    """Replaces the provider ids in the rows of the people ``contact_ids`` with pseudonyms."""
    changed = 0
    for model, field in PSEUDONYMIZED:
        rows = list(
            model.objects.filter(org=org, contact_id__in=contact_ids)
            .exclude(**{field: ""})
            .exclude(**{f"{field}__startswith": PSEUDONYM_PREFIX})
            .only("pk", field)
        )
        for row in rows:
            setattr(row, field, pseudonym(getattr(row, field)))
        changed += model.objects.bulk_update(rows, [field])
    return changed


def search_digests(*, org: Organization | None, text: str) -> set[str]:
    """The digests an admin's search for ``text`` (an email, a phone, a provider id) matches."""
    text = text.strip()
    if not text:
        return set()
    values = {text}
    email = normalize_email(text)
    if email is not None:
        values |= {email.value, email.canonical}
    phone = normalize_phone(text, default_region=(org.default_region if org else None) or "US")
    if phone is not None and phone.e164:
        values.add(phone.e164)
    return {suppression_digest(value) for value in values}


def suppressions_lift(
    *, org: Organization, suppression_ids: Iterable[int], actor: User | None
) -> dict[str, int]:
    """Lifts the selected suppressions and every other one of the same people: a person
    consents as a whole, and a phone still suppressed would keep them nameless. Audited with
    counts, never values. What is stored already stays erased; what comes next is kept."""
    active = Suppression.objects.for_org(org).filter(lifted_at__isnull=True)
    with transaction.atomic():
        people = set(active.filter(pk__in=list(suppression_ids)).values_list("person", flat=True))
        lifted = active.filter(person__in=people)
        counts = {
            "suppressions": lifted.update(
                lifted_at=timezone.now(),
                lifted_by=actor if actor is not None and actor.is_authenticated else None,
            ),
            "people": len(people),
        }
        if counts["suppressions"]:
            audit_log_write(org=org, actor=actor, action="suppression.lift", **counts)
    return counts
