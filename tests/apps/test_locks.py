"""apps/orgs/locks.py: one advisory lock helper, keys named by namespace, for every app."""

import psycopg
import pytest
from django.conf import settings
from django.db import transaction

from apps.integrations.sync import SyncAlreadyRunning, _exclusive
from apps.orgs.locks import LockBusy, LockNamespace, lock_key, session_lock, xact_lock


def _other_session() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        autocommit=True,
    )


def test_keys_differ_by_namespace_org_and_parts():
    keys = {
        lock_key(namespace, org, *parts)
        for namespace in LockNamespace
        for org in (1, 2)
        for parts in (("a",), ("a", "b"), ("b",))
    }
    assert len(keys) == len(LockNamespace) * 2 * 3
    assert all(-(2**63) <= key < 2**63 for key in keys)
    assert lock_key(LockNamespace.DEAL, 1, "x") == lock_key(LockNamespace.DEAL, 1, "x")


@pytest.mark.django_db(transaction=True)
def test_a_transaction_lock_holds_until_commit():
    key = lock_key(LockNamespace.PAYMENT, 7, "stripe", "pi_1")
    with _other_session() as other:
        with transaction.atomic():
            xact_lock(LockNamespace.PAYMENT, 7, [("stripe", "pi_1"), ("stripe", "")])
            assert other.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone() == (False,)
        assert other.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone() == (True,)


@pytest.mark.django_db(transaction=True)
def test_a_session_lock_is_refused_while_another_session_holds_it(team_a):
    key = lock_key(LockNamespace.SYNC_RUN, team_a.org.pk, "close")
    with _other_session() as other:
        other.execute("SELECT pg_advisory_lock(%s)", [key])
        with pytest.raises(LockBusy), session_lock(LockNamespace.SYNC_RUN, team_a.org.pk, "close"):
            pass
        # The sync's own guard says so in its words.
        with (
            pytest.raises(SyncAlreadyRunning, match="already running"),
            _exclusive(team_a.org, "close"),
        ):
            pass
        other.execute("SELECT pg_advisory_unlock(%s)", [key])
    with session_lock(LockNamespace.SYNC_RUN, team_a.org.pk, "close"):
        pass
