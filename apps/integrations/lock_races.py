"""Transactions retried when PostgreSQL cancels them to break a deadlock."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, connection, transaction

T = TypeVar("T")

# A page chosen as a deadlock victim is applied again, after the page it raced committed.
PAGE_ATTEMPTS = 5


def _lost_a_lock_race(exc: OperationalError) -> bool:
    # 40P01 deadlock_detected, 40001 serialization_failure: the transaction did nothing wrong.
    return getattr(exc.__cause__, "sqlstate", None) in ("40P01", "40001")


def retrying_lock_races(
    apply: Callable[[], T], retried: Callable[[OperationalError, int], None] | None = None
) -> T:
    """``apply()`` in a transaction that ends with its foreign-key checks, applied again (up
    to PAGE_ATTEMPTS times, ``retried`` told each time) when PostgreSQL cancels it to break a
    deadlock: rolling back released its locks, so what it raced finishes first."""
    for attempt in range(1, PAGE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                result = apply()
                _check_constraints_now()
            return result
        except OperationalError as exc:
            if not _lost_a_lock_race(exc) or attempt == PAGE_ATTEMPTS:
                raise
            if retried is not None:
                retried(exc, attempt)
            time.sleep(random.uniform(0, 0.05 * attempt))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _check_constraints_now() -> None:
    # Setting them back to deferred restores the default of every constraint here: Django's
    # foreign keys are the only deferrable ones, all INITIALLY DEFERRED.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
