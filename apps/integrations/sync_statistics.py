"""Statistics for the planner while a backfill fills the tables.

A backfill grows these tables far faster than autovacuum re-reads them (and autovacuum may be
off): with no statistics the planner picked a (org, ...) index and a filter for a per-invitee
meeting lookup, scanning every meeting of the org. Every STATS_CHECK_PAGES committed pages
(syncing.py), a table never analyzed, or grown by half (plus STATS_MIN_ROWS) since, is analyzed.
"""

from __future__ import annotations

from django.db import connection

STATS_MIN_ROWS = 1000


def filled_tables() -> list[str]:
    from apps.contacts.models import Contact, ContactNameKey, Identifier, SourceRecord, Touchpoint
    from apps.deals.models import CallActivity, Deal
    from apps.meetings.models import Meeting
    from apps.payments.models import Payment

    models = (Contact, Identifier, ContactNameKey, SourceRecord, Touchpoint, Meeting, Deal,
              CallActivity, Payment)  # fmt: skip
    return [model._meta.db_table for model in models]


def statistics_refresh() -> list[str]:
    """Analyzes the tables a sync fills whose planner statistics are missing or far behind;
    returns their names. Outside the page transactions: ANALYZE blocks no insert, and a page
    must not wait for it."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid "
            "WHERE c.relname = ANY(%s) "
            "AND (c.reltuples < 0 OR s.n_mod_since_analyze > 0.5 * c.reltuples + %s) "
            "ORDER BY c.relname",
            [filled_tables(), STATS_MIN_ROWS],
        )
        stale = [row[0] for row in cursor.fetchall()]
        for table in stale:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return stale
