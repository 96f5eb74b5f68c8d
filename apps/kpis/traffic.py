"""Traffic types: the org's own kinds of traffic and which sources each holds.

One rule, used by the dashboard's filter, its sources table and setter activity alike: a contact
is of the first type (by position) listing its UTM source, failing that of the first listing its
CRM lead source (``Contact.crm_lead_source``); else of none.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Case, CharField, Q, Value, When

from apps.kpis.models import TrafficType
from apps.orgs.models import Organization
from apps.orgs.services import audit_log_write


@dataclass(frozen=True)
class TrafficRule:
    name: str
    sources: tuple[str, ...]


def traffic_rules(*, org: Organization) -> list[TrafficRule]:
    return [
        TrafficRule(name, tuple(sources or ()))
        for name, sources in TrafficType.objects.for_org(org)
        .order_by("position", "name")
        .values_list("name", "sources")
    ]


def traffic_type_of(rules: list[TrafficRule], *, source: str, lead_source: str) -> str:
    for value in (source, lead_source):
        for rule in rules:
            if value and value in rule.sources:
                return rule.name
    return ""


def traffic_case(rules: list[TrafficRule], *, source: str, lead_source: str) -> Case | Value:
    """The same rule in SQL, over the columns (or annotations) named ``source``/``lead_source``."""
    whens = [
        When(Q(**{f"{column}__in": rule.sources}), then=Value(rule.name))
        for column in (source, lead_source)
        for rule in rules
        if rule.sources
    ]
    if not whens:
        return Value("", output_field=CharField())
    return Case(*whens, default=Value(""), output_field=CharField())


def traffic_type_save(
    *, org: Organization, actor, name: str, sources: list[str], position: int = 100,
    instance: TrafficType | None = None,
) -> TrafficType:  # fmt: skip
    """Creates (or edits ``instance``); validates first, audits in the same transaction."""
    traffic = instance or TrafficType(org=org)
    traffic.name, traffic.sources, traffic.position = name, sources, position
    traffic.full_clean()
    with transaction.atomic():
        traffic.save()
        audit_log_write(
            org=org,
            actor=actor,
            action="traffic_type.save",
            target=traffic,
            name=traffic.name,
            sources=traffic.sources,
        )
    return traffic


def traffic_type_delete(*, traffic: TrafficType, actor) -> None:
    with transaction.atomic():
        audit_log_write(
            org=traffic.org, actor=actor, action="traffic_type.delete", target=traffic,
            name=traffic.name,
        )  # fmt: skip
        traffic.delete()
