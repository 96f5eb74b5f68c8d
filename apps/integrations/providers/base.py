"""What a provider package declares: its :class:`Provider` and one :class:`RecordHandler` per
record type its parser produces (STYLE.md 5, issue 19).

Everything the webhooks, the sync, the ingestion and the pages need to know about a provider is
here, once; those modules look providers up in the registry (``apps.integrations.providers``)
and hold no per-provider branches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from apps.integrations.ingest_context import IngestContext, names_someone
from apps.orgs.models import Organization
from apps.orgs.outcomes import Outcome
from attribution.sources.records import PersonObservation

if TYPE_CHECKING:
    from apps.integrations.clients.base import BaseClient
    from apps.integrations.syncing import ProviderSync

# (stored model, provider, object type, external id): an object a record is about, as the
# ingestion looks it up ("meeting", "deal", "call", "payment", or "source" for a SourceRecord).
ObjectLookup = tuple[str, str, str | None, str | None]
Item = tuple[Any, Mapping[str, Any] | None]  # (parsed record, the provider's raw object)


class RecordHandler:
    """How one record type is applied, and what the ingestion around it needs to know of it:
    the people it names, the provider objects it is about, and the keys it is locked by."""

    record_type: ClassVar[type]
    # Applied a run of records at a time (one query per step for the whole run), or one by one
    # (with the page's contacts resolved ahead).
    bulk: ClassVar[bool] = False

    def apply(self, ctx: IngestContext, items: Sequence[Item]) -> list[Outcome]:
        return [self.apply_one(ctx, record, raw) for record, raw in items]

    def apply_one(self, ctx: IngestContext, record: Any, raw: Mapping[str, Any] | None) -> Outcome:
        raise NotImplementedError

    def persons(self, record: Any) -> list[tuple[PersonObservation, str | None]]:
        """The people the handler resolves, and the lead status it resolves them with."""
        return []

    def objects(self, record: Any) -> list[ObjectLookup]:
        """The provider objects the record is about (the rows it writes)."""
        return []

    def references(self, record: Any) -> list[ObjectLookup]:
        """Other objects the record names, by which its person is found too (a payment's
        invoice, a reschedule's other invitee)."""
        return []

    def object_key(self, record: Any) -> str | None:
        """What the record's object is locked and deduplicated by in a page; None when the
        services lock their own keys (payments)."""
        return None

    def lock_keys(self, record: Any) -> list[str] | None:
        """The keys to lock besides the object's; None: the held objects' keys."""
        key = self.object_key(record)
        return [key] if key is not None else None

    def people(self, record: Any) -> list[PersonObservation]:
        """Every person the record is about, for erasure: those resolved and any others."""
        return [person for person, _ in self.persons(record)]

    def held_by_each_person(self, record: Any) -> bool:
        """Whether every person the record names goes to the contact its object already has."""
        return True


def people_naming_someone(people: Sequence[PersonObservation]) -> list[tuple[Any, None]]:
    return [(person, None) for person in people if names_someone(person)]


@dataclass(frozen=True)
class Provider:
    """One provider, declared once."""

    name: str
    label: str
    # Credentials (INTEGRATIONS.md; `manage.py set_credential`): the one its API is read with
    # and the one its webhooks are signed with.
    api_credential: str
    signing_credential: str
    # The request headers worth keeping with a delivery, lower case (replays re-check nothing,
    # but people debugging a delivery want to see what was signed and by whom).
    kept_headers: tuple[str, ...]
    # How far back an incremental run re-reads before the last successful one started.
    overlap: timedelta
    client: type[BaseClient]
    syncer: type[ProviderSync]
    records: tuple[RecordHandler, ...]
    # (secrets, headers, body, now) -> None, or SignatureError / ValueError (no usable secret).
    verify: Callable[..., None]
    # (envelope, headers, body, record) -> (event id, event type): what the inbox is unique on.
    identify: Callable[..., tuple[str, str]]
    # (org, envelope) -> one typed record; ParseError, UnsupportedEvent.
    parse: Callable[[Organization, Mapping[str, Any]], object]
    # envelope -> the provider's own object inside it (kept as provenance), or None.
    raw_object: Callable[[Mapping[str, Any]], object]

    @property
    def credential_names(self) -> tuple[str, ...]:
        return (self.api_credential, self.signing_credential)


def child(node: object, key: str) -> object:
    """``node[key]`` of a JSON object, None for anything else: envelopes may be any shape."""
    return node.get(key) if isinstance(node, Mapping) else None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header by its lower-case name, whatever case it was sent in."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def body_hash(body: bytes) -> str:
    """What a delivery without a usable id is keyed by in the inbox."""
    return "sha256:" + hashlib.sha256(body).hexdigest()
