"""The Close lead-source custom field, kept on the contact beside the UTM source.

Which Close custom field holds it differs per team: ``org.settings["close_lead_source_field"]``
(a field id such as ``cf_abc`` or ``custom.cf_abc``), stored like ``close_lead_owner_field``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from apps.contacts.models import Contact
from apps.orgs.models import Organization
from attribution.touch.channels import normalize_channel

CLOSE_LEAD_SOURCE_SETTING = "close_lead_source_field"


def close_lead_source_field(*, org: Organization) -> str | None:
    value = (org.settings or {}).get(CLOSE_LEAD_SOURCE_SETTING)
    return str(value).removeprefix("custom.") if value else None


def lead_source_from_custom(*, org: Organization, custom: Mapping[str, Any]) -> str | None:
    """The lead's source as the org's configured field gives it (None: no field, no value)."""
    field = close_lead_source_field(org=org)
    if not field:
        return None
    value = custom.get(field)
    if isinstance(value, list):  # a multiple-choice field: its first choice
        value = value[0] if value else None
    text = normalize_channel(str(value))[:200] if value not in (None, "") else ""
    return text or None


def contacts_set_crm_lead_source(
    *, org: Organization, contacts: Iterable[Contact | None], lead_source: str | None
) -> int:
    """The CRM wins this field: each contact takes the lead's current value (a lead without one
    leaves what was there). Returns the contacts changed."""
    if not lead_source:
        return 0
    ids = {c.pk for c in contacts if c is not None}
    return (
        Contact.objects.for_org(org)
        .filter(pk__in=ids)
        .exclude(crm_lead_source=lead_source)
        .update(crm_lead_source=lead_source)
    )
