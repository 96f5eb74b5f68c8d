"""PostgreSQL advisory locks, one helper for every app, keyed by a named namespace.

A lock key is a 64-bit hash of (namespace, org, parts), so two namespaces never collide and
no app picks magic numbers. Transaction-scoped locks (``xact_lock``) are released at commit or
rollback and are taken in key order, so two writers locking overlapping sets cannot deadlock.
The session lock (``session_lock``) outlives transactions: a long sync holds it on the
connection, and the server drops it by itself when a killed worker's connection goes.

SQLite (``make run``) serialises writers by itself: every helper is a no-op there.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import connection

from apps.orgs.bulk import bound_cursor


class LockNamespace(enum.StrEnum):
    """Who locks what. The value is part of every key: never reuse or rename one in place."""

    # One identifier value (kind, value) while a contact is resolved (apps.contacts).
    IDENTIFIER = "identifier"
    # One CRM opportunity or contact while its deal is written or folded (apps.deals).
    DEAL = "deal"
    # One provider payment's ids while it is observed (apps.payments).
    PAYMENT = "pay"
    # The payout snapshots of one org (apps.payments.payout_snapshot_create).
    PAYOUT_SNAPSHOT = "payout-snapshot"
    # One provider object while a record about it is ingested (apps.integrations).
    INGEST_OBJECT = "ingest"
    # One sync run per org and provider, a session lock (apps.integrations).
    SYNC_RUN = "integrations.sync"


def lock_key(namespace: LockNamespace, org_id: int, *parts: object) -> int:
    """The signed 64-bit key PostgreSQL's advisory lock functions take."""
    text = ":".join([namespace.value, str(org_id), *(str(p) for p in parts)])
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def xact_lock(namespace: LockNamespace, org_id: int, keys: Iterable[tuple | str]) -> None:
    """Transaction-scoped locks on each key (a string, or a tuple of parts), in key order.

    Must run inside a transaction (``transaction.atomic``): outside one the lock would be
    released at once.
    """
    if not _postgresql():
        return
    values = sorted(
        {lock_key(namespace, org_id, *(key if isinstance(key, tuple) else (key,))) for key in keys}
    )
    if not values:
        return
    with bound_cursor(connection) as cursor:
        # unnest walks the sorted array in order, so the locks are taken in that order.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k",
            [values],
        )


class LockBusy(Exception):
    """Another session holds the session lock asked for."""


@contextmanager
def session_lock(namespace: LockNamespace, org_id: int, *parts: object) -> Iterator[None]:
    """A session lock held for the block, or ``LockBusy`` at once when another session has it."""
    if not _postgresql():
        yield
        return
    key = lock_key(namespace, org_id, *parts)
    # The lock outlives transactions, so take it on the connection itself.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise LockBusy(f"{namespace.value} lock of org {org_id} is held")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
