"""Typeform responses -> the person, a form touchpoint with its UTMs, and provenance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from apps.contacts.models import Contact, Touchpoint, TouchpointKind
from apps.contacts.services import SourceRecordRow, source_records_upsert_many
from apps.contacts.signals import journey_rows_bulk_changed
from apps.integrations.ingest_context import IngestContext, combine
from apps.integrations.providers.base import ObjectLookup, RecordHandler, people_naming_someone
from apps.orgs.bulk import insert_rows
from apps.orgs.outcomes import Outcome
from attribution.sources import typeform


def _touchpoint_values(contact: Contact, response: typeform.FormResponse) -> dict[str, Any]:
    utm = response.utm
    return {
        "contact_id": contact.pk,
        "kind": TouchpointKind.FORM,
        "occurred_at": response.submitted_at,
        "utm_source": (utm.source or "")[:200],
        "utm_medium": (utm.medium or "")[:200],
        "utm_campaign": (utm.campaign or "")[:200],
        "utm_content": (utm.content or "")[:200],
        "utm_term": (utm.term or "")[:200],
        "landing_url": (response.hidden.get("landing_url") or "")[:1000],
    }


class FormResponses(RecordHandler):
    record_type = typeform.FormResponse
    bulk = True

    def apply(
        self,
        ctx: IngestContext,
        items: Sequence[tuple[typeform.FormResponse, Mapping[str, Any] | None]],
    ) -> list[Outcome]:
        org = ctx.org
        contacts = [ctx.resolve(response.person) for response, _ in items]
        sources = source_records_upsert_many(
            org=org,
            rows=[
                SourceRecordRow(
                    "typeform",
                    "form_response",
                    response.token,
                    ctx.payload(response, raw),
                    contact,
                    response.submitted_at,
                )
                for (response, raw), contact in zip(items, contacts, strict=True)
            ],
        )
        # The source record rows are locked by their upsert, so a sync and a webhook of the
        # same response cannot both add a touchpoint.
        existing = {
            touchpoint.source_record_id: touchpoint
            for touchpoint in Touchpoint.objects.for_org(org).filter(
                source_record_id__any=[source.pk for source, _ in sources]
            )
        }
        new, dirty, dirty_fields, outcomes = [], [], set(), []
        for (response, _), contact, (source, changed) in zip(items, contacts, sources, strict=True):
            if contact is None:
                outcomes.append(Outcome.SKIPPED)
                continue
            values = _touchpoint_values(contact, response)
            touchpoint = existing.get(source.pk)
            if touchpoint is None:
                new.append({"org_id": org.pk, "source_record_id": source.pk, **values})
                outcomes.append(Outcome.CREATED)
                continue
            fields = [k for k, v in values.items() if getattr(touchpoint, k) != v]
            for key in fields:
                setattr(touchpoint, key, values[key])
            if fields:
                dirty.append(touchpoint)
                dirty_fields.update(fields)
            outcomes.append(combine(False, changed or bool(fields)))
        insert_rows(Touchpoint, new)
        if dirty:
            Touchpoint.objects.bulk_update(dirty, sorted(dirty_fields))
        if new or dirty:
            journey_rows_bulk_changed.send(
                sender=Touchpoint,
                org_id=ctx.org.pk,
                contact_ids=[row["contact_id"] for row in new] + [t.contact_id for t in dirty],
            )
        return outcomes

    def persons(self, record: typeform.FormResponse):
        return people_naming_someone([record.person])

    def objects(self, record: typeform.FormResponse) -> list[ObjectLookup]:
        return [("source", "typeform", "form_response", record.token)]

    def object_key(self, record: typeform.FormResponse) -> str:
        return f"typeform:response:{record.token}"
