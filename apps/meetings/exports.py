"""The CSV downloads of the calls page and the exports page: calls, PCFs, contacts and the
configuration tables.

Each table is a header and a generator of rows read with ``values_list(...).iterator()``: no model
instance is built and the database hands rows over in chunks, so memory stays flat however many
rows stream (bench/exports/calls_csv.py measures it). Every one goes out through the one
formula-safe helper, ``apps.orgs.csv.csv_response``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from apps.contacts.selectors import contact_list_for_member
from apps.meetings.models import CallTypeRule, Meeting, PostCallForm
from apps.meetings.services import pcf_config_for, pcf_custom_specs
from apps.orgs.models import Membership, Organization, TeamMember

CHUNK = 2000

CALL_HEADER = [
    "Call id", "Scheduled at", "Type", "Status", "Showed", "Contact", "Email", "Setter",
    "Closer", "Source", "Campaign", "Event", "PCF filed", "PCF outcome",
]  # fmt: skip
_CALL_COLUMNS = (
    "pk", "scheduled_at", "call_type", "status", "showed", "contact__first_name",
    "contact__last_name", "contact__primary_email", "setter__name", "closer__name",
    "contact__original_source", "contact__original_campaign", "event_name", "pcf__id",
    "pcf__outcome",
)  # fmt: skip


def _local(value, tz) -> str:
    return timezone.localtime(value, tz).isoformat() if value else ""


def _yes(value) -> str:
    return "" if value is None else "yes" if value else "no"


def call_rows(*, org: Organization, meetings: QuerySet[Meeting]) -> Iterator[list]:
    tz = org.tzinfo
    rows = meetings.order_by("-scheduled_at", "-pk").values_list(*_CALL_COLUMNS)
    for (
        pk, scheduled_at, call_type, status, showed, first, last, email, setter, closer,
        source, campaign, event, pcf_id, outcome,
    ) in rows.iterator(chunk_size=CHUNK):  # fmt: skip
        yield [
            pk, _local(scheduled_at, tz), call_type, status, _yes(showed),
            " ".join(part for part in (first, last) if part), email, setter, closer, source,
            campaign, event, _yes(pcf_id is not None), outcome,
        ]  # fmt: skip


PCF_HEADER = [
    "Call id", "Scheduled at", "Type", "Contact", "Author", "Call occurred", "Lead showed",
    "Offer made", "Deal closed", "Cash collected", "Contract value", "Currency", "Payment type",
    "Outcome", "Notes", "Submitted at", "Locked at",
]  # fmt: skip
_PCF_COLUMNS = (
    "meeting_id", "meeting__scheduled_at", "meeting__call_type", "meeting__contact__first_name",
    "meeting__contact__last_name", "author__name", "call_occurred", "lead_showed", "offer_made",
    "deal_closed", "cash_collected", "contract_value", "currency", "payment_type", "outcome",
    "notes", "submitted_at", "locked_at", "custom",
)  # fmt: skip


def pcf_table(*, org: Organization, meetings: QuerySet[Meeting]) -> tuple[list, Iterator[list]]:
    """The PCFs of ``meetings``, one column per custom field of the org's form configuration
    (answers to fields no longer configured are left out, as the call page leaves them out)."""
    specs = pcf_custom_specs(org=org)
    header = [*PCF_HEADER, *(spec.label for spec in specs)]
    tz = org.tzinfo

    def rows():
        qs = (
            PostCallForm.objects.for_org(org)
            .filter(meeting__in=meetings.values("pk"))
            .order_by("-meeting__scheduled_at", "-pk")
            .values_list(*_PCF_COLUMNS)
        )
        for (
            call_id, scheduled_at, call_type, first, last, author, occurred, showed, offer,
            closed, cash, contract, currency, payment_type, outcome, notes, submitted, locked,
            custom,
        ) in qs.iterator(chunk_size=CHUNK):  # fmt: skip
            custom = custom if isinstance(custom, dict) else {}
            answers = [_answer(custom.get(spec.key)) for spec in specs]
            yield [
                call_id, _local(scheduled_at, tz), call_type,
                " ".join(part for part in (first, last) if part), author, _yes(occurred),
                _yes(showed), _yes(offer), _yes(closed), cash, contract, currency or org.currency,
                payment_type, outcome, notes, _local(submitted, tz), _local(locked, tz), *answers,
            ]  # fmt: skip

    return header, rows()


def _answer(value):
    if isinstance(value, bool):
        return _yes(value)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value


CONTACT_HEADER = [
    "Contact id", "First name", "Last name", "Email", "Phone", "Company", "Lead status",
    "Source", "Medium", "Campaign", "Content", "Term", "First seen at",
]  # fmt: skip
_CONTACT_COLUMNS = (
    "pk", "first_name", "last_name", "primary_email", "primary_phone", "company", "lead_status",
    "original_source", "original_medium", "original_campaign", "original_content",
    "original_term", "first_seen_at",
)  # fmt: skip


def contact_rows(*, membership: Membership) -> Iterator[list]:
    tz = membership.org.tzinfo
    qs = (
        contact_list_for_member(membership=membership)
        .filter(erased_at__isnull=True)
        .order_by("-first_seen_at", "-pk")
        .values_list(*_CONTACT_COLUMNS)
    )
    for *values, first_seen in qs.iterator(chunk_size=CHUNK):
        yield [*values, _local(first_seen, tz)]


# --- configuration tables ---------------------------------------------------------------------


def _team(org):
    header = ["Name", "Email", "Closer", "Setter", "Active", "Close user id", "Calendly user"]
    rows = (
        [
            name,
            email,
            _yes(closer),
            _yes(setter),
            _yes(active),
            (ids or {}).get("close", ""),
            (ids or {}).get("calendly", ""),
        ]
        for name, email, closer, setter, active, ids in TeamMember.objects.for_org(org)
        .order_by("name", "pk")
        .values_list("name", "email", "is_closer", "is_setter", "active", "external_ids")
        .iterator(chunk_size=CHUNK)
    )
    return header, rows


def _call_types(org):
    header = ["Priority", "Event type uri", "Name contains", "Call type"]
    rows = (
        CallTypeRule.objects.for_org(org)
        .order_by("priority", "pk")
        .values_list("priority", "event_type_uri", "name_pattern", "call_type")
        .iterator(chunk_size=CHUNK)
    )
    return header, rows


def _pcf_fields(org):
    header = ["Key", "Label", "Type", "Required", "Choices"]
    rows = (
        [spec.key, spec.label, spec.type, _yes(spec.required), "; ".join(spec.choices)]
        for spec in pcf_custom_specs(org=org)
    )
    return header, rows


def _traffic_types(org):
    from apps.kpis.models import TrafficType

    header = ["Position", "Name", "Sources"]
    rows = (
        [position, name, "; ".join(sources or [])]
        for position, name, sources in TrafficType.objects.for_org(org)
        .order_by("position", "name")
        .values_list("position", "name", "sources")
    )
    return header, rows


def _pcf_outcomes(org):
    return ["Outcome"], ([str(o)] for o in pcf_config_for(org=org).outcomes or [])


@dataclass(frozen=True)
class ConfigTable:
    name: str
    title: str
    build: Callable[[Organization], tuple[list, Iterator]]


CONFIG_TABLES: dict[str, ConfigTable] = {
    table.name: table
    for table in (
        ConfigTable("team", "Team roster", _team),
        ConfigTable("call_types", "Call-type rules", _call_types),
        ConfigTable("pcf_fields", "Post-call form custom fields", _pcf_fields),
        ConfigTable("pcf_outcomes", "Post-call form outcomes", _pcf_outcomes),
        ConfigTable("traffic_types", "Traffic types", _traffic_types),
    )
}
