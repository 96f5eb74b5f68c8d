"""Finding who holds an identifier value: the index probes identity resolution and ingestion share."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, models

from apps.contacts.models import Contact, Identifier
from apps.orgs.bulk import bound_cursor
from apps.orgs.models import Organization


def identifier_rows_holding(org: Organization, pairs: Iterable[tuple[str, str]]) -> list[tuple]:
    """(pk, contact_id, kind, value, shared, contact merged) of the org's identifier rows
    holding any of these (kind, value) pairs."""
    pairs = sorted(set(pairs))
    if not pairs:
        return []
    if connection.vendor == "postgresql":
        # One index probe per pair, whatever the planner believes about the table: during a
        # backfill its statistics lag far behind the rows, and a plain join (or an OR of IN
        # lists) was planned as a scan of every identifier of the org, once per chunk. OFFSET 0
        # keeps the lateral subquery from being flattened back into such a join.
        sql = (
            "SELECT i.id, i.contact_id, i.kind, i.value, i.shared, c.merged_into_id IS NOT NULL "  # noqa: S608
            "FROM unnest(%s::text[], %s::text[]) AS p(kind, value) CROSS JOIN LATERAL ("
            f"SELECT * FROM {Identifier._meta.db_table} x "
            "WHERE x.org_id = %s AND x.kind = p.kind AND x.value = p.value OFFSET 0) AS i "
            f"JOIN {Contact._meta.db_table} c ON c.id = i.contact_id"
        )
        with bound_cursor(connection) as cursor:
            cursor.execute(sql, [[k for k, _ in pairs], [v for _, v in pairs], org.pk])
            return cursor.fetchall()
    by_kind: dict[str, set[str]] = defaultdict(set)
    for kind, value in pairs:
        by_kind[kind].add(value)
    condition = models.Q(pk__in=[])
    for kind, values in by_kind.items():
        condition |= models.Q(kind=kind, value__in=values)
    rows = Identifier.objects.for_org(org).filter(condition)
    return [
        (*row[:5], row[5] is not None)
        for row in rows.values_list(
            "pk", "contact_id", "kind", "value", "shared", "contact__merged_into_id"
        )
    ]


def contacts_holding(
    *, org: Organization, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Contact]:
    """(kind, value) -> the live contact holding it (the oldest row's, should several)."""
    rows = sorted(r for r in identifier_rows_holding(org, pairs) if not r[5])
    # By primary key alone, the org checked here: with org_id in the query the planner, its
    # statistics behind a growing backfill, read every contact of the org on each call.
    contacts = {
        pk: contact
        for pk, contact in Contact.objects.in_bulk({r[1] for r in rows}).items()
        if contact.org_id == org.pk
    }
    found: dict[tuple[str, str], Contact] = {}
    for _, contact_id, kind, value, _, _ in rows:
        if contact_id in contacts:
            found.setdefault((kind, value), contacts[contact_id])
    return found
