"""Typeform's nightly sync: each form's responses (the forms the org names, or all of them)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from apps.integrations.providers.typeform.settings import typeform_field_mapping
from apps.integrations.syncing import ProviderSync
from attribution.sources import typeform


def _typeform_response(item, *, form_id, definition, field_mapping):
    return [
        typeform.parse_response(
            item, form_id=form_id, definition=definition, field_mapping=field_mapping
        )
    ]


def _typeform_time(value: str | None) -> str | None:
    # Typeform takes UTC to the second, with T between date and time.
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class TypeformSync(ProviderSync):
    provider = "typeform"

    def sync(self) -> None:
        form_ids = self.settings().get("form_ids") or [f["id"] for f in self.client.forms()]
        for form_id in form_ids:
            context = {"form_id": form_id, "definition": self.client.form(form_id)}

            def pages(since, position, form_id=form_id):
                return self.client.response_pages(
                    form_id, since=_typeform_time(since), after=(position or {}).get("after")
                )

            self.ingest_walk(f"responses:{form_id}", pages, context)

    def queue_page(self, resource: str, items: list[Any], context: Any) -> None:
        parse = functools.partial(
            _typeform_response,
            form_id=context["form_id"],
            definition=context["definition"],
            field_mapping=typeform_field_mapping(org=self.org, form_id=context["form_id"]),
        )
        for item in items:
            self.ingest("responses", item, parse, "token")
