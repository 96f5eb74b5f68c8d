"""Calls: which type a booking is, whether the lead showed, who gets the credit, PCF custom fields.

Pure functions over plain values (KPIS.md "Showed" and "Who gets the credit"); the meeting services
load rows, call these and save what they return.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

__all__ = [
    "CUSTOM_FIELD_TYPES",
    "DEFAULT_CALL_TYPE_WORDS",
    "CallTypeRuleSpec",
    "Credit",
    "CustomFieldSpec",
    "RosterEntry",
    "classify_call_type",
    "credit_for_meeting",
    "match_roster_name",
    "parse_custom_field_specs",
    "resolve_showed",
    "setter_name_from_booking",
    "validate_custom_fields",
]

CallTypeName = Literal["triage", "solution", "other"]

DEFAULT_CALL_TYPE_WORDS: Mapping[str, tuple[str, ...]] = {
    "triage": ("triage", "discovery", "intro", "qualification"),
    "solution": ("solution", "strategy", "closing", "demo", "enrollment"),
}


# --- call types -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallTypeRuleSpec:
    call_type: str
    event_type_uri: str = ""
    name_pattern: str = ""
    priority: int = 100


def classify_call_type(
    event_name: str | None,
    event_type_uri: str | None,
    rules: Iterable[CallTypeRuleSpec],
    defaults: Mapping[str, Sequence[str]] = DEFAULT_CALL_TYPE_WORDS,
) -> str:
    """The org's rules first (lower priority first; at equal priority a uri rule beats a pattern),
    then the default words; the word that appears earliest in the name decides, else "other"."""
    name = (event_name or "").casefold()
    uri = (event_type_uri or "").strip()
    ordered = sorted(rules, key=lambda r: (r.priority, 0 if r.event_type_uri else 1))
    for rule in ordered:
        if rule.event_type_uri and uri and rule.event_type_uri.strip() == uri:
            return rule.call_type
        if rule.name_pattern and rule.name_pattern.strip().casefold() in name and name:
            return rule.call_type
    best: tuple[int, str] | None = None
    for call_type, words in defaults.items():
        for word in words:
            match = re.search(rf"\b{re.escape(word.casefold())}", name)
            if match and (best is None or match.start() < best[0]):
                best = (match.start(), call_type)
    return best[1] if best else "other"


# --- showed -----------------------------------------------------------------------------------


def resolve_showed(
    *,
    pcf_lead_showed: bool | None,
    crm_outcome: str | None,
    canceled: bool,
    assume_show_without_outcome: bool,
    no_show_marked: bool = False,
) -> bool:
    """KPIS.md order: the PCF, then the CRM call activity, then cancellation, then the org default.

    ``no_show_marked`` is the host's Calendly no-show mark: an outcome of the same kind as the CRM's,
    so it ranks just after it (a CRM "showed" is the later, more deliberate statement).
    """
    if pcf_lead_showed is not None:
        return pcf_lead_showed
    if crm_outcome == "showed":
        return True
    if crm_outcome == "no_show":
        return False
    if no_show_marked:
        return False
    if canceled:
        return False
    return assume_show_without_outcome


# --- credit -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RosterEntry:
    key: int | str
    name: str
    email: str = ""
    is_setter: bool = True


@dataclass(frozen=True, slots=True)
class Credit:
    closer: int | str | None
    setter: int | str | None
    setter_reason: str  # "host" | "triage_host" | "booking" | "crm_owner" | "none"


def credit_for_meeting(
    *,
    call_type: str,
    host: int | str | None,
    triage_host: int | str | None = None,
    named_setter: int | str | None = None,
    crm_lead_owner: int | str | None = None,
    pcf_author: int | str | None = None,
) -> Credit:
    """KPIS.md "Who gets the credit", over roster keys.

    A triage call's host is its setter; a solution call's host is its closer (or the PCF author
    when nobody hosted it), and its setter is the host of the contact's triage call, else the
    setter named in the booking, else the CRM lead owner.
    """
    if call_type == "triage":
        return Credit(closer=None, setter=host, setter_reason="host" if host else "none")
    closer = (host or pcf_author) if call_type == "solution" else None
    for reason, value in (
        ("triage_host", triage_host),
        ("booking", named_setter),
        ("crm_owner", crm_lead_owner),
    ):
        if value is not None:
            return Credit(closer=closer, setter=value, setter_reason=reason)
    return Credit(closer=closer, setter=None, setter_reason="none")


def setter_name_from_booking(
    *,
    org_settings: Mapping[str, Any],
    utm: Mapping[str, str | None],
    answers: Iterable[tuple[str, str | None]],
) -> str | None:
    """The setter a booking names, where the org says to look.

    ``settings["setter_utm_field"]`` names a UTM field ("utm_content"); ``settings["setter_question"]``
    a booking question, matched case-insensitively ignoring punctuation and spacing.
    """
    field = str(org_settings.get("setter_utm_field") or "").strip().lower()
    if field:
        value = utm.get(field) or utm.get(field.removeprefix("utm_"))
        if value and value.strip():
            return value.strip()
    question = _squash(str(org_settings.get("setter_question") or ""))
    if question:
        for asked, answer in answers:
            if _squash(asked) == question and answer and answer.strip():
                return answer.strip()
    return None


def match_roster_name(value: str | None, roster: Iterable[RosterEntry]) -> int | str | None:
    """A roster key for a typed name or email: email, then full name, then a unique first name."""
    if not value or not value.strip():
        return None
    wanted = _squash(value)
    setters = [entry for entry in roster if entry.is_setter]
    for entry in setters:
        if entry.email and entry.email.strip().lower() == value.strip().lower():
            return entry.key
    for entry in setters:
        if _squash(entry.name) == wanted:
            return entry.key
    firsts = [e for e in setters if e.name.split() and _squash(e.name.split()[0]) == wanted]
    return firsts[0].key if len(firsts) == 1 else None


def _squash(text: str) -> str:
    return re.sub(r"[^\w]+", "", text.casefold())


# --- PCF custom fields ------------------------------------------------------------------------

CUSTOM_FIELD_TYPES = ("text", "number", "money", "select", "checkbox", "date")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


@dataclass(frozen=True, slots=True)
class CustomFieldSpec:
    key: str
    label: str
    type: str
    required: bool = False
    choices: tuple[str, ...] = ()


_NO_SHOW = re.compile(r"\b(no[\s-]?show|did\s*n[o']?t\s+show|ghosted)\b")
_NOT_CLOSED = re.compile(
    r"\b(lost|not\s+(closed|sold|won)|no\s+(sale|deal)|unsold|declined|not\s+interested)\b"
)
_CLOSED = re.compile(r"\b(closed|won|sold|sale|signed|enrolled)\b")


def outcome_implies(outcome: str | None) -> dict[str, bool]:
    """What an outcome's wording says about the yes/no answers of a PCF.

    Outcomes are each org's own labels; the common words of the trade are read so that a rep who
    picks "Closed" but leaves "the deal closed" at No is asked which is right, instead of a won
    deal that never reaches the numbers. A label with none of these words implies nothing.
    """
    text = (outcome or "").strip().lower()
    if not text:
        return {}
    if _NO_SHOW.search(text):
        return {"lead_showed": False}
    if _NOT_CLOSED.search(text):
        return {"deal_closed": False}
    if _CLOSED.search(text):
        return {"lead_showed": True, "deal_closed": True}
    return {}


def parse_custom_field_specs(raw: object) -> list[CustomFieldSpec]:
    """The form configuration's JSON list -> specs; raises ValueError naming the bad entry."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise ValueError("custom fields must be a list")
    specs: list[CustomFieldSpec] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise ValueError(f"custom field #{index + 1} must be an object")
        key = str(item.get("key") or "")
        kind = str(item.get("type") or "")
        if not _KEY.match(key):
            raise ValueError(f"custom field #{index + 1}: key {key!r} must be lower_snake_case")
        if key in seen:
            raise ValueError(f"custom field {key!r} is defined twice")
        if kind not in CUSTOM_FIELD_TYPES:
            raise ValueError(f"custom field {key!r}: type must be one of {CUSTOM_FIELD_TYPES}")
        choices = tuple(str(c) for c in item.get("choices") or ())
        if kind == "select" and not choices:
            raise ValueError(f"custom field {key!r}: a select needs choices")
        seen.add(key)
        specs.append(
            CustomFieldSpec(
                key=key,
                label=str(item.get("label") or key.replace("_", " ").capitalize()),
                type=kind,
                required=bool(item.get("required", False)),
                choices=choices,
            )
        )
    return specs


def validate_custom_fields(
    specs: Sequence[CustomFieldSpec], values: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """(cleaned JSON-safe values, {key: message}); unknown keys are dropped, not stored."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in specs:
        value = values.get(spec.key)
        empty = value is None or (isinstance(value, str) and not value.strip())
        if spec.type == "checkbox":
            checked = _truthy(value)
            if spec.required and not checked:
                errors[spec.key] = f"{spec.label} must be ticked."
            cleaned[spec.key] = checked
            continue
        if empty:
            if spec.required:
                errors[spec.key] = f"{spec.label} is required."
            continue
        try:
            cleaned[spec.key] = _clean_value(spec, value)
        except ValueError as exc:
            errors[spec.key] = str(exc)
    return cleaned, errors


def _clean_value(spec: CustomFieldSpec, value: Any) -> Any:
    if spec.type == "text":
        return str(value).strip()
    if spec.type in ("number", "money"):
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"{spec.label}: enter a number.") from None
        if not number.is_finite():
            raise ValueError(f"{spec.label}: enter a number.")
        if spec.type == "money":
            if number < 0:
                raise ValueError(f"{spec.label} cannot be negative.")
            if number != number.quantize(Decimal("0.01")):
                raise ValueError(f"{spec.label}: at most two decimal places.")
            return str(number.quantize(Decimal("0.01")))
        return str(number)
    if spec.type == "select":
        text = str(value).strip()
        if text not in spec.choices:
            raise ValueError(f"{spec.label}: choose one of {', '.join(spec.choices)}.")
        return text
    if spec.type == "date":
        if isinstance(value, date):
            return value.isoformat()
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError(f"{spec.label}: enter a date as YYYY-MM-DD.") from None
    raise ValueError(f"{spec.label}: unknown field type {spec.type!r}.")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes")
    return bool(value)
