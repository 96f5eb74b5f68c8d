"""The erasure list, kept apart from database backups so a restore cannot bring people back.

A dump holds everyone as they were when it was taken: restored, it would bring back the people
erased since. ``erasures_export`` writes what every erasure left behind, keyed hashes and ids
only (Suppression rows, the ids of erased contacts with when they were erased), to a small
JSON file an operator takes often; ``erasures_reapply`` replays that file on a restored
database through the same erase service as admin, so those people vanish again.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import uuid
from datetime import datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.contacts.models import Contact, Suppression
from apps.contacts.privacy import contact_erase, person_contact_ids
from apps.orgs.models import Organization
from apps.orgs.services import audit_log_write

logger = logging.getLogger(__name__)

FORMAT = "attribution-erasures"
VERSION = 1


def erasures_collect() -> dict:
    """Every org's suppressions and erased contacts, as JSON-ready data: hashes and ids."""
    orgs = []
    for org in Organization.objects.order_by("pk"):
        suppressions = list(
            Suppression.objects.for_org(org)
            .order_by("created_at", "pk")
            .values("kind", "digest", "person", "contact_id", "created_at", "lifted_at")
        )
        # created_at tells this contact from one a restored database later gives the same id.
        erased = list(
            Contact.objects.for_org(org)
            .filter(erased_at__isnull=False)
            .order_by("pk")
            .values("id", "created_at", "erased_at")
        )
        if suppressions or erased:
            orgs.append(
                {
                    "org": org.pk,
                    "slug": org.slug,
                    "suppressions": suppressions,
                    "erased_contacts": erased,
                }
            )
    data = {"format": FORMAT, "version": VERSION, "exported_at": timezone.now(), "orgs": orgs}
    return json.loads(json.dumps(data, default=_plain))


def _plain(value):
    # Full microseconds (DjangoJSONEncoder keeps milliseconds): created_at is compared exactly.
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} in an erasure list")


def erasures_export(*, path: Path) -> dict[str, int]:
    """Writes the erasure list to ``path`` in one step: a reader never sees half a file."""
    data = erasures_collect()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return {
        "orgs": len(data["orgs"]),
        "suppressions": sum(len(o["suppressions"]) for o in data["orgs"]),
        "erased_contacts": sum(len(o["erased_contacts"]) for o in data["orgs"]),
    }


def erasures_load(path: Path) -> dict:
    data = json.loads(Path(path).read_text())
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise ValueError(f"{path} is not an erasure list of version {VERSION}")
    return data


def _when(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def erasures_reapply(*, data: dict) -> dict[str, int]:
    """Re-applies every erasure of ``data`` that the database does not have; idempotent.

    Suppressions come first, with their original person and dates, so the erasures that follow
    find their identifiers suppressed already and add no second row for them. A contact is
    erased again only when its id and created_at both match: a contact created after the dump
    may hold an id the erased one had before the restore. Audited per org with counts."""
    totals = {"orgs": 0, "orgs_missing": 0, "suppressions": 0, "lifts": 0, "contacts": 0}
    for entry in data["orgs"]:
        org = Organization.objects.filter(pk=entry["org"], slug=entry["slug"]).first()
        if org is None:
            # Created after the dump: the restored database holds nothing of it to erase.
            totals["orgs_missing"] += 1
            continue
        counts = _reapply_org(org, entry)
        totals["orgs"] += 1
        for name, value in counts.items():
            totals[name] += value
    logger.info("erasures re-applied: %s", totals)
    return totals


def _reapply_org(org: Organization, entry: dict) -> dict[str, int]:
    counts = {"suppressions": 0, "lifts": 0, "contacts": 0}
    with transaction.atomic():
        # Only the contacts the list names: an org may hold millions.
        named = {row["contact_id"] for row in entry["suppressions"]}
        named |= {row["id"] for row in entry["erased_contacts"]}
        contacts = dict(
            Contact.objects.for_org(org).filter(pk__in=named).values_list("pk", "created_at")
        )
        held = {
            (str(s.person), s.kind, s.digest): s
            for s in Suppression.objects.for_org(org).select_for_update()
        }
        # Lifts before additions: a person erased, lifted and erased again has an active row
        # that only fits once the earlier one is lifted.
        rows = sorted(entry["suppressions"], key=lambda r: r["lifted_at"] is None)
        for row in rows:
            key = (row["person"], row["kind"], row["digest"])
            lifted_at = _when(row["lifted_at"])
            existing = held.get(key)
            if existing is not None:
                if lifted_at and existing.lifted_at is None:
                    existing.lifted_at = lifted_at
                    existing.save(update_fields=["lifted_at"])
                    counts["lifts"] += 1
                continue
            contact_id = row["contact_id"]
            if contact_id not in contacts:
                # Ingestion gives the person a new nameless contact when they come back.
                contact_id = None
            created = Suppression.objects.create(
                org=org,
                person=row["person"],
                kind=row["kind"],
                digest=row["digest"],
                contact_id=contact_id,
                lifted_at=lifted_at,
            )
            # auto_now_add stamped the restore's time; the erasure happened when it happened.
            Suppression.objects.filter(pk=created.pk).update(created_at=_when(row["created_at"]))
            held[key] = created
            counts["suppressions"] += 1
        erased_now = set(
            Contact.objects.for_org(org)
            .filter(pk__in=named, erased_at__isnull=False)
            .values_list("pk", flat=True)
        )
        for row in entry["erased_contacts"]:
            pk = row["id"]
            if pk in erased_now or contacts.get(pk) != _when(row["created_at"]):
                continue
            contact = Contact.objects.for_org(org).get(pk=pk)
            # The real erase service: names, identifiers, payloads and deliveries go, provider
            # ids become pseudonyms, exactly as the first time. It erases the whole person, so
            # the contacts merged with this one are done too.
            erased_now |= set(person_contact_ids(org=org, contact=contact))
            contact_erase(org=org, contact=contact, actor=None)
            Contact.objects.for_org(org).filter(pk=pk).update(erased_at=_when(row["erased_at"]))
            counts["contacts"] += 1
        if counts["suppressions"] or counts["lifts"] or counts["contacts"]:
            audit_log_write(org=org, actor=None, action="erasures.reapply", **counts)
    return counts
