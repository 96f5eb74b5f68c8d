"""Typeform: form_response webhooks and Responses API items -> FormResponse."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from attribution.sources._fields import (
    items,
    mapping,
    optional_datetime,
    parse_datetime,
    required,
    required_str,
    text,
    texts,
)
from attribution.sources.records import (
    ExternalId,
    ParseError,
    PersonObservation,
    UnsupportedEvent,
    Utm,
)

__all__ = [
    "PERSON_FIELDS",
    "Answer",
    "AnswerValue",
    "FormResponse",
    "parse_response",
    "parse_webhook",
]

# Keys of the per-form field mapping; each value is a field ref or a field id.
PERSON_FIELDS = ("email", "phone", "first_name", "last_name", "full_name", "company")

AnswerValue = str | Decimal | bool | tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Answer:
    field_id: str | None
    field_ref: str | None
    field_type: str | None
    type: str
    value: AnswerValue
    title: str | None = None


@dataclass(frozen=True, slots=True)
class FormResponse:
    form_id: str
    token: str
    submitted_at: datetime
    person: PersonObservation
    event_id: str | None = None
    landed_at: datetime | None = None
    hidden: Mapping[str, str] = field(default_factory=dict)
    utm: Utm = field(default_factory=Utm)
    answers: tuple[Answer, ...] = ()

    @property
    def idempotency_key(self) -> str:
        # The response token is stable across webhook retries and the Responses API alike.
        return self.token


def parse_webhook(
    envelope: Mapping[str, Any], *, field_mapping: Mapping[str, str] | None = None
) -> FormResponse:
    envelope = mapping(envelope, where="typeform envelope")
    event_type = text(envelope.get("event_type")) or "form_response"
    if event_type != "form_response":
        raise UnsupportedEvent("typeform", event_type)
    response = mapping(envelope.get("form_response"), where="typeform.form_response")
    return parse_response(
        response,
        form_id=None,
        event_id=text(envelope.get("event_id")),
        field_mapping=field_mapping,
    )


def parse_response(
    response: Mapping[str, Any],
    *,
    form_id: str | None = None,
    event_id: str | None = None,
    field_mapping: Mapping[str, str] | None = None,
    definition: Mapping[str, Any] | None = None,
) -> FormResponse:
    """Parse one response; API items carry no form_id or definition, so pass them in."""
    where = "typeform.form_response"
    response = mapping(response, where=where)
    resolved_form_id = text(response.get("form_id")) or form_id
    if resolved_form_id is None:
        raise ParseError(f"{where}.form_id is missing or not a string")
    token = required_str(response, "token", where=where)
    submitted_at = parse_datetime(
        required(response, "submitted_at", where=where), where=f"{where}.submitted_at"
    )
    given = response.get("definition")
    definition = given if isinstance(given, Mapping) and given else definition or {}
    titles = {
        str(f.get("id")): text(f.get("title"))
        for f in items(definition.get("fields"))
        if isinstance(f, Mapping)
    }
    answers = tuple(_answers(response.get("answers"), titles=titles))
    hidden_raw = response.get("hidden") if isinstance(response.get("hidden"), Mapping) else {}
    hidden = {str(k): str(v) for k, v in hidden_raw.items() if text(v) is not None}
    utm = Utm.from_mapping(hidden)
    chosen = _choose_person_answers(answers, field_mapping or {})

    def value(key: str) -> str | None:
        answer = chosen.get(key)
        return text(answer.value) if answer and isinstance(answer.value, str) else None

    return FormResponse(
        form_id=str(resolved_form_id),
        token=token,
        submitted_at=submitted_at,
        event_id=event_id,
        landed_at=optional_datetime(response.get("landed_at"), where=f"{where}.landed_at"),
        hidden=hidden,
        utm=utm,
        answers=answers,
        person=PersonObservation(
            source="typeform",
            observed_at=submitted_at,
            provider_ids=(ExternalId("typeform_response", token),),
            emails=texts([value("email"), hidden.get("email")]),
            phones=texts([value("phone"), hidden.get("phone")]),
            first_name=value("first_name"),
            last_name=value("last_name"),
            full_name=value("full_name"),
            company=value("company"),
            utm=utm,
        ),
    )


def _answers(raw: object, *, titles: Mapping[str, str | None]):
    for item in items(raw):
        if not isinstance(item, Mapping):
            continue
        answer_field = item.get("field") if isinstance(item.get("field"), Mapping) else {}
        field_id = text(answer_field.get("id"))
        answer_type = text(item.get("type")) or "unknown"
        yield Answer(
            field_id=field_id,
            field_ref=text(answer_field.get("ref")),
            field_type=text(answer_field.get("type")),
            type=answer_type,
            value=_value(item, answer_type),
            title=titles.get(field_id or ""),
        )


def _value(item: Mapping[str, Any], answer_type: str) -> AnswerValue:
    # The value sits under a key named after the answer type.
    raw = item.get(answer_type)
    if answer_type == "choice" and isinstance(raw, Mapping):
        return text(raw.get("label") or raw.get("other"))
    if answer_type == "choices" and isinstance(raw, Mapping):
        return texts([*items(raw.get("labels")), raw.get("other")])
    if answer_type == "boolean":
        return bool(raw) if raw is not None else None
    if answer_type == "number" and raw is not None and not isinstance(raw, bool):
        return Decimal(str(raw))
    if isinstance(raw, Mapping | list):
        return None  # payment, multi-format: not needed for identity or attribution
    return text(raw)


def _choose_person_answers(
    answers: tuple[Answer, ...], field_mapping: Mapping[str, str]
) -> dict[str, Answer]:
    chosen: dict[str, Answer] = {}
    # An explicit per-form mapping wins; it may name a field by ref or by id.
    for key, target in field_mapping.items():
        match = next((a for a in answers if target in (a.field_ref, a.field_id)), None)
        if match is not None:
            chosen[key] = match
    mapped = {id(a) for a in chosen.values()}
    free = [a for a in answers if id(a) not in mapped]
    if "email" not in field_mapping:
        _pick(chosen, "email", (a for a in free if a.type == "email"))
    if "phone" not in field_mapping:
        _pick(chosen, "phone", (a for a in free if a.type == "phone_number"))
    texts_ = [a for a in free if a.field_type in ("short_text", None) and a.type == "text"]
    for key, predicate in _NAME_RULES:
        if key in field_mapping or (
            key == "full_name" and {"first_name", "last_name"} & chosen.keys()
        ):
            continue
        taken = {id(a) for a in chosen.values()}
        _pick(chosen, key, (a for a in texts_ if id(a) not in taken and predicate(_label(a))))
    return chosen


def _pick(chosen: dict[str, Answer], key: str, candidates) -> None:
    if key not in chosen:
        first = next(iter(candidates), None)
        if first is not None:
            chosen[key] = first


def _label(answer: Answer) -> str:
    return " ".join(filter(None, (answer.field_ref, answer.title))).lower().replace("_", " ")


def _is_company(label: str) -> bool:
    return any(w in label for w in ("company", "business", "organisation", "organization"))


def _is_first_name(label: str) -> bool:
    return (
        "name" in label and any(w in label for w in ("first", "given")) and not _is_company(label)
    )


def _is_last_name(label: str) -> bool:
    return "surname" in label or (
        "name" in label and any(w in label for w in ("last", "family")) and not _is_company(label)
    )


def _is_full_name(label: str) -> bool:
    return "name" in label and not _is_company(label) and "user" not in label


# Order matters: the specific names first, so "first name" is not taken as a full name.
_NAME_RULES = (
    ("first_name", _is_first_name),
    ("last_name", _is_last_name),
    ("full_name", _is_full_name),
    ("company", _is_company),
)
