"""The org settings that shape how Close objects are parsed, webhooks and sync alike."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from apps.orgs.models import Organization
from attribution.sources import close

# org.settings keys: how a Close call says "no-show", and the lead field naming its owner.
CLOSE_NO_SHOW_SETTING = "close_no_show_rule"
CLOSE_LEAD_OWNER_SETTING = "close_lead_owner_field"


def close_no_show_rule(*, org: Organization) -> close.NoShowRule | None:
    raw = (org.settings or {}).get(CLOSE_NO_SHOW_SETTING)
    if not isinstance(raw, Mapping):
        return None
    known = {f.name for f in dataclasses.fields(close.NoShowRule)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            continue
        values[key] = tuple(value) if isinstance(value, list) else value
    return close.NoShowRule(**values)


def close_lead_owner_field(*, org: Organization) -> str | None:
    value = (org.settings or {}).get(CLOSE_LEAD_OWNER_SETTING)
    return str(value) if value else None
