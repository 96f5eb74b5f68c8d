"""Writes of the API: workspaces and keys (audited), conversions, contacts' conversion status.

Every rule lives here; the API views, the site's key pages, the admin and ``create_api_key`` call
these functions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from apps.api.keys import key_digest, key_generate, key_matches, key_prefix
from apps.api.models import (
    SCOPES,
    Activity,
    ApiKey,
    ContactConversion,
    Conversion,
    ConversionStatus,
    Scope,
    Workspace,
)
from apps.api.settings_api import API_CUSTOM_DATA_MAX_BYTES
from apps.contacts import suppression
from apps.contacts.models import Contact, Touchpoint, TouchpointKind
from apps.contacts.services import contact_resolve
from apps.orgs.models import Membership, Organization, User
from apps.orgs.services import audit_log_write
from attribution.kpis.display import CURRENCIES
from attribution.sources.records import PersonObservation

# last_used_at is written at most this often per key: a key in a busy loop must not turn every
# read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


# --- workspaces and keys ---------------------------------------------------------------------


def _clean_scopes(scopes) -> list[str]:
    scopes = list(dict.fromkeys(scopes))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValidationError(
            {"scopes": f"Unknown scope {unknown[0]!r}: choose from {', '.join(SCOPES)}."}
        )
    if not scopes:
        raise ValidationError({"scopes": "Choose at least one scope."})
    return [s for s in SCOPES if s in scopes]


@transaction.atomic
def workspace_create(
    *, org: Organization, name: str, permissions, actor: User | None, slug: str = ""
) -> Workspace:
    slug = slugify(slug or name)[:60]
    if not slug:
        raise ValidationError({"name": "Give the workspace a name with letters or digits."})
    if Workspace.objects.for_org(org).filter(slug=slug).exists():
        raise ValidationError({"name": f"A workspace {slug!r} exists already."})
    workspace = Workspace(
        org=org, name=name.strip(), slug=slug, permissions=_clean_scopes(permissions)
    )
    workspace.created_by = actor if actor is not None and actor.is_authenticated else None
    workspace.full_clean()
    workspace.save()
    audit_log_write(
        org=org,
        actor=actor,
        action="api.workspace_create",
        target=workspace,
        slug=slug,
        permissions=workspace.permissions,
    )
    return workspace


@transaction.atomic
def api_key_create(
    *,
    org: Organization,
    scopes,
    actor: User | None,
    workspace: Workspace | None = None,
    user: User | None = None,
    name: str = "",
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its only clear copy (show it once). A workspace key's scopes are within the
    workspace's permissions; a personal key reads, as its user's role may, and nothing else."""
    if (workspace is None) == (user is None):
        raise ValueError("a key belongs to a workspace or to a user")
    scopes = _clean_scopes(scopes)
    if workspace is not None:
        if workspace.org_id != org.pk:
            raise ValidationError({"workspace": "No such workspace in this organisation."})
        beyond = [s for s in scopes if s not in workspace.permissions]
        if beyond:
            raise ValidationError(
                {"scopes": f"The workspace {workspace.name} may not {beyond[0]}."}
            )
    else:
        if scopes != [Scope.READ]:
            raise ValidationError({"scopes": "A personal key can only read."})
        if not Membership.objects.filter(org=org, user=user).exists():
            raise ValidationError({"user": "A personal key is for a member of the organisation."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    raw, prefix = key_generate()
    key = ApiKey.objects.create(
        org=org,
        workspace=workspace,
        user=user,
        name=name.strip()[:120],
        prefix=prefix,
        digest=key_digest(raw),
        scopes=scopes,
        expires_at=expires_at,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    audit_log_write(
        org=org,
        actor=actor,
        action="api.key_create",
        target=key,
        prefix=prefix,
        scopes=scopes,
        workspace=workspace.slug if workspace else None,
        personal=user is not None,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    return key, raw


@transaction.atomic
def api_key_revoke(*, org: Organization, key: ApiKey, actor: User | None) -> bool:
    """Revokes a key at once; False when it was revoked already."""
    locked = ApiKey.objects.for_org(org).select_for_update().get(pk=key.pk)
    if locked.revoked_at is not None:
        return False
    locked.revoked_at = key.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    audit_log_write(org=org, actor=actor, action="api.key_revoke", target=locked, prefix=key.prefix)
    return True


def api_key_authenticate(*, raw: str, now: datetime | None = None) -> ApiKey | None:
    """The active key ``raw`` is, with its org, workspace and (for a personal key) membership
    loaded; None for anything else. Marks it used, at most once a ``LAST_USED_RESOLUTION``."""
    prefix = key_prefix(raw)
    if prefix is None:
        return None
    key = ApiKey.objects.select_related("org", "workspace", "user").filter(prefix=prefix).first()
    if key is None or not key_matches(raw, key.digest):
        return None
    now = now or timezone.now()
    if not key.is_active(now):
        return None
    key.membership = None
    if key.is_personal:
        # A personal key reads as its user's current role, and dies with the membership.
        key.membership = (
            Membership.objects.filter(org=key.org, user=key.user, user__is_active=True)
            .select_related("org", "user")
            .first()
        )
        if key.membership is None:
            return None
    if key.last_used_at is None or key.last_used_at <= now - LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        key.last_used_at = now
    return key


# --- conversions -----------------------------------------------------------------------------


class ConversionRejected(ValidationError):
    """Bad input the serializer could not see (an unknown contact): a 400 with field errors."""


class IdempotencyConflict(Exception):
    """The Idempotency-Key or external_id was used before with another request body."""


def _storable(value) -> bool:
    """PostgreSQL's jsonb refuses NUL and lone surrogates in any string, keys included."""
    if isinstance(value, str):
        return "\x00" not in value and not any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


def custom_data_clean(value, *, field: str = "custom_data") -> dict:
    if not isinstance(value, dict):
        raise ValidationError({field: "Must be a JSON object."})
    if not _storable(value):
        raise ValidationError({field: "Strings may not hold NUL or lone surrogate characters."})
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > API_CUSTOM_DATA_MAX_BYTES:
        raise ValidationError(
            {field: f"Is {size} bytes as JSON; the limit is {API_CUSTOM_DATA_MAX_BYTES}."}
        )
    return value


@dataclass(frozen=True)
class ConversionInput:
    conversion_type: str
    conversion_value: Decimal
    contact_id: int | None = None
    email: str = ""
    phone: str = ""
    lead_id: str = ""
    converted_by: str = ""
    currency: str = ""
    converted_at: datetime | None = None
    custom_data: dict | None = None
    external_id: str = ""

    def fingerprint(self) -> str:
        payload = {k: str(v) if v is not None else None for k, v in self.__dict__.items()}
        payload["custom_data"] = self.custom_data
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _live_contact(org: Organization, contact_id: int) -> Contact:
    contact = Contact.objects.for_org(org).filter(pk=contact_id).first()
    hops = 0
    # A merged-away contact's conversions belong to the contact it was merged into.
    while contact is not None and contact.merged_into_id is not None and hops < 10:
        contact = Contact.objects.for_org(org).filter(pk=contact.merged_into_id).first()
        hops += 1
    if contact is None or contact.erased_at is not None or contact.merged_into_id is not None:
        # Another org's contact and a missing one read the same.
        raise ConversionRejected({"contact_id": "No contact with this id."})
    return contact


def _contact_for(org: Organization, data: ConversionInput, at: datetime) -> Contact:
    if data.contact_id is not None:
        return _live_contact(org, data.contact_id)
    person = PersonObservation(
        source="manual",
        observed_at=at,
        emails=(data.email,) if data.email else (),
        phones=(data.phone,) if data.phone else (),
    )
    # Someone erased stays erased: their conversion goes to the nameless contact kept for them.
    erased = suppression.suppressed_contacts(org=org, people=[person])
    if erased:
        return erased[id(person)]
    return contact_resolve(org=org, observation=person).contact


def _existing(org, workspace, idempotency_key: str, external_id: str) -> Conversion | None:
    qs = Conversion.objects.for_org(org).filter(workspace=workspace)
    if idempotency_key:
        found = qs.filter(idempotency_key=idempotency_key).first()
        if found is not None:
            return found
    if external_id:
        return qs.filter(external_id=external_id).first()
    return None


def _replayed(found: Conversion, fingerprint: str) -> Conversion:
    if found.request_hash and found.request_hash != fingerprint:
        raise IdempotencyConflict
    return found


_ROLLUP_UPSERT = """
INSERT INTO api_conversionrollup (org_id, day, workspace_id, conversion_type, currency, count, value)
VALUES (%s, %s, %s, %s, %s, 1, %s)
ON CONFLICT (org_id, day, workspace_id, conversion_type, currency)
DO UPDATE SET count = api_conversionrollup.count + 1,
              value = api_conversionrollup.value + EXCLUDED.value
"""
_STATUS_UPSERT = """
INSERT INTO api_contactconversion
    (org_id, contact_id, status, converted_from_id, converted_by, metadata,
     first_converted_at, updated_at)
VALUES (%s, %s, 'converted', %s, %s, '{}', %s, %s)
ON CONFLICT (contact_id) DO UPDATE SET
    status = 'converted',
    converted_from_id = EXCLUDED.converted_from_id,
    converted_by = CASE WHEN EXCLUDED.converted_by <> '' THEN EXCLUDED.converted_by
                        ELSE api_contactconversion.converted_by END,
    first_converted_at = CASE
        WHEN api_contactconversion.first_converted_at IS NULL
          OR EXCLUDED.first_converted_at < api_contactconversion.first_converted_at
        THEN EXCLUDED.first_converted_at ELSE api_contactconversion.first_converted_at END,
    updated_at = EXCLUDED.updated_at
"""


def conversion_record(
    *,
    org: Organization,
    workspace: Workspace,
    data: ConversionInput,
    api_key: ApiKey | None = None,
    idempotency_key: str = "",
) -> tuple[Conversion, bool]:
    """Logs a conversion: (conversion, True), or (the stored one, False) for a replay of the same
    Idempotency-Key or external_id in this workspace.

    Idempotent under concurrency: the unique constraints on (org, workspace, idempotency key)
    and (org, workspace, external id) let one insert win; every other request rolls back all it
    wrote (a contact it created included) and answers with the winner's row.
    """
    fingerprint = data.fingerprint()
    found = _existing(org, workspace, idempotency_key, data.external_id)
    if found is not None:
        return _replayed(found, fingerprint), False
    now = timezone.now()
    at = data.converted_at or now
    currency = data.currency or org.currency
    if currency not in CURRENCIES:
        raise ConversionRejected({"currency": f"{currency!r} is not an ISO 4217 currency code."})
    custom = custom_data_clean(data.custom_data or {})
    try:
        with transaction.atomic():
            contact = _contact_for(org, data, at)
            touchpoint = Touchpoint.objects.create(
                org=org, contact=contact, kind=TouchpointKind.CONVERSION, occurred_at=at
            )
            conversion = Conversion(
                org=org,
                contact=contact,
                workspace=workspace,
                touchpoint=touchpoint,
                api_key=api_key,
                lead_id=data.lead_id,
                converted_by=data.converted_by,
                conversion_type=data.conversion_type,
                conversion_value=data.conversion_value,
                currency=currency,
                converted_at=at,
                custom_data=custom,
                external_id=data.external_id,
                idempotency_key=idempotency_key,
                request_hash=fingerprint,
                created_at=now,
            )
            conversion.save(force_insert=True)
            day = timezone.localdate(at, timezone=org.tzinfo)
            with connection.cursor() as cursor:
                cursor.execute(
                    _ROLLUP_UPSERT,
                    [
                        org.pk,
                        day,
                        workspace.pk,
                        data.conversion_type,
                        currency,
                        data.conversion_value,
                    ],
                )
                cursor.execute(
                    _STATUS_UPSERT, [org.pk, contact.pk, workspace.pk, data.converted_by, at, now]
                )
            Activity.objects.create(
                org=org,
                workspace=workspace,
                api_key=api_key,
                action="conversion.create",
                target_type="conversion",
                target_id=str(conversion.pk),
                data={"contact_id": contact.pk, "conversion_type": data.conversion_type},
                created_at=now,
            )
    except IntegrityError:
        # A concurrent request with the same key won the insert (its row is committed: the
        # unique index made this one wait for it). Anything else is a real error.
        found = _existing(org, workspace, idempotency_key, data.external_id)
        if found is None:
            raise
        return _replayed(found, fingerprint), False
    return conversion, True


# --- a contact's conversion status -----------------------------------------------------------


def metadata_merge(current: dict, patch: dict) -> dict:
    """JSON Merge Patch (RFC 7386): a key of ``patch`` replaces the same key of ``current``,
    ``null`` removes it, and an object merges into an object key by key, recursively."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = metadata_merge(merged[key], value)
        elif isinstance(value, dict):
            merged[key] = metadata_merge({}, value)
        else:
            merged[key] = value
    return merged


def _workspace_named(org: Organization, slug: str | None, field: str) -> Workspace | None:
    if not slug:
        return None
    found = Workspace.objects.for_org(org).filter(slug=slug).first()
    if found is None:
        raise ConversionRejected({field: "No workspace with this id."})
    return found


_UNSET = object()


@transaction.atomic
def contact_conversion_update(
    *,
    org: Organization,
    contact: Contact,
    workspace: Workspace,
    api_key: ApiKey | None = None,
    status: str | None = None,
    sent_from: str | object | None = _UNSET,
    converted_from: str | object | None = _UNSET,
    converted_by: str | None = None,
    metadata: dict | None = None,
) -> ContactConversion:
    """Updates what is given; ``metadata`` merges into the stored metadata (metadata_merge)."""
    row, _ = ContactConversion.objects.get_or_create(contact=contact, defaults={"org": org})
    row = ContactConversion.objects.select_for_update().get(pk=row.pk)
    changed = []
    if status is not None:
        if status not in ConversionStatus.values:
            raise ConversionRejected({"status": f"{status!r} is not a conversion status."})
        row.status = status
        changed.append("status")
        if status == ConversionStatus.CONVERTED and row.first_converted_at is None:
            row.first_converted_at = timezone.now()
    if sent_from is not _UNSET:
        row.sent_from = _workspace_named(org, sent_from, "sent_from_workspace_id")
        changed.append("sent_from")
    if converted_from is not _UNSET:
        row.converted_from = _workspace_named(org, converted_from, "converted_from_workspace_id")
        changed.append("converted_from")
    if converted_by is not None:
        row.converted_by = converted_by
        changed.append("converted_by")
    if metadata is not None:
        row.metadata = custom_data_clean(
            metadata_merge(row.metadata or {}, metadata), field="metadata"
        )
        changed.append("metadata")
    row.updated_at = timezone.now()
    row.save()
    Activity.objects.create(
        org=org,
        workspace=workspace,
        api_key=api_key,
        action="contact.conversion_update",
        target_type="contact",
        target_id=str(contact.pk),
        data={"changed": changed, "status": row.status},
    )
    return row
