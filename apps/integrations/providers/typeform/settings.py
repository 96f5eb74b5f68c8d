"""The org settings that shape how Typeform responses are parsed, webhooks and sync alike."""

from __future__ import annotations

from collections.abc import Mapping

from apps.orgs.models import Organization
from attribution.sources import typeform

# org.settings key: {"<form_id>": {"email": "<ref or id>", "phone": ..., ...}} with "*" as the
# fallback for every form; unmapped keys fall back to the parser's defaults by answer type
# (email, phone_number) and by field ref/title (first name, last name, company).
TYPEFORM_MAPPING_SETTING = "typeform_field_mapping"


def typeform_field_mapping(*, org: Organization, form_id: str | None) -> dict[str, str]:
    per_form = (org.settings or {}).get(TYPEFORM_MAPPING_SETTING) or {}
    if not isinstance(per_form, Mapping):
        return {}
    chosen = {**(per_form.get("*") or {}), **(per_form.get(form_id or "") or {})}
    return {
        str(k): str(v) for k, v in chosen.items() if k in typeform.PERSON_FIELDS and str(v).strip()
    }
