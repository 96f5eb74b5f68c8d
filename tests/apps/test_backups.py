"""A backup restores into a fresh database with the same numbers, and without the people erased
after it was taken (README, "Backups and restore")."""

import io
import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from apps.contacts.models import Contact, Identifier, SourceRecord, Suppression
from apps.contacts.privacy import contact_erase
from apps.contacts.services import contact_resolve, source_record_upsert
from apps.kpis.services import rollup_rebuild
from apps.meetings.models import CallType
from apps.orgs.models import AuditLog
from tests.apps.contacts.helpers import T0, person
from tests.factories import DealFactory, MeetingFactory, PaymentFactory

# pg_dump reads committed rows only: the test's data cannot sit in a rolled-back transaction.
pytestmark = pytest.mark.django_db(transaction=True)

ERIN = "erin.cole@brightside.co"  # erased before the dump
SAM = "sam.okafor@harbor.io"  # erased after it
LEE = "lee.park@northwind.com"  # never erased
START, END = "2026-03-01", "2026-03-31"


def _customer(org, email, first, last, days):
    contact = contact_resolve(
        org=org,
        observation=person(email=email, first=first, last=last, days=days, utm_source="facebook"),
    ).contact
    source_record_upsert(
        org=org,
        provider="typeform",
        object_type="form_response",
        external_id=f"resp_{last.lower()}01",
        payload={"answers": [{"email": email}, {"text": f"{first} {last}"}]},
        contact=contact,
    )
    at = T0 + timedelta(days=days + 1)
    MeetingFactory(org=org, contact=contact, call_type=CallType.TRIAGE, scheduled_at=at)
    MeetingFactory(org=org, contact=contact, scheduled_at=at + timedelta(days=2))
    DealFactory(org=org, contact=contact, closed_at=at + timedelta(days=3))
    PaymentFactory(org=org, contact=contact, paid_at=at + timedelta(days=3))
    return contact


def _url(name: str) -> str:
    db = settings.DATABASES["default"]
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{quote(db['USER'], safe='')}{password}@{host}/{name}"


def _manage(database: str, *argv: str) -> subprocess.CompletedProcess:
    # The URL, password included, goes through the environment, as an operator's would.
    env = {**os.environ, "DATABASE_URL": _url(database)}
    return subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _kpis(slug: str) -> dict:
    out = io.StringIO()
    call_command("kpis", slug, "--start", START, "--end", END, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def fresh_database():
    name = f"attr_restore_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _read(database: str, sql: str, params=()) -> list[tuple]:
    db = settings.DATABASES["default"]
    with psycopg.connect(
        dbname=database,
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
    ) as conn:
        return conn.execute(sql, params).fetchall()


def test_a_restore_keeps_the_numbers_and_erases_again_who_was_erased_after_the_dump(
    team_a, tmp_path, fresh_database
):
    org = team_a.org
    erin = _customer(org, ERIN, "Erin", "Cole", 0)
    sam = _customer(org, SAM, "Sam", "Okafor", 3)
    lee = _customer(org, LEE, "Lee", "Park", 6)
    contact_erase(org=org, contact=erin, actor=team_a.owner)
    rollup_rebuild(org=org)

    call_command("backup", "--output", str(tmp_path / "backups"), stdout=io.StringIO())
    (dump,) = (tmp_path / "backups").glob("attribution-*.dump")
    (in_backup,) = (tmp_path / "backups").glob("erasures-*.json")
    assert dump.stat().st_size > 0

    contact_erase(org=org, contact=sam, actor=team_a.owner)
    later = tmp_path / "erasures" / "erasures-latest.json"
    call_command("erasures_export", "--output", str(later), stdout=io.StringIO())
    rollup_rebuild(org=org)
    original = _kpis(org.slug)
    assert original["base"]["cash_collected"] == "1500.00"  # the erased still count
    suppressed = set(Suppression.objects.for_org(org).values_list("person", "kind", "digest"))
    assert len({p for p, _, _ in suppressed}) == 2
    sam_suppressions = Suppression.objects.for_org(org).filter(contact=sam).count()
    assert sam_suppressions

    # Hashes and ids only: the erasure lists can be kept where the dumps are not.
    for listing in (in_backup, later):
        text = listing.read_text()
        assert not any(trace in text for trace in (ERIN, SAM, "Cole", "Okafor"))
    assert len(json.loads(in_backup.read_text())["orgs"][0]["erased_contacts"]) == 1

    restored = _manage(fresh_database, "restore", str(dump), "--erasures", str(later))
    assert restored.returncode == 0, restored.stderr

    people = dict(
        _read(
            fresh_database,
            f"SELECT id, concat_ws('|', first_name, last_name, primary_email, erased_at IS NULL) "  # noqa: S608
            f"FROM {Contact._meta.db_table} WHERE id = ANY(%s)",
            ([erin.pk, sam.pk, lee.pk],),
        )
    )
    assert people == {erin.pk: "|||f", sam.pk: "|||f", lee.pk: f"Lee|Park|{LEE}|t"}
    assert _read(
        fresh_database,
        f"SELECT count(*) FROM {Identifier._meta.db_table} WHERE contact_id = %s",  # noqa: S608
        (sam.pk,),
    ) == [(0,)]
    sam_records = _read(
        fresh_database,
        f"SELECT external_id, payload::text FROM {SourceRecord._meta.db_table} "  # noqa: S608
        "WHERE contact_id = %s",
        (sam.pk,),
    )
    assert sam_records and all(r[0].startswith("hmac:") and r[1] == "{}" for r in sam_records)
    assert (
        set(
            _read(
                fresh_database,
                f"SELECT person, kind, digest FROM {Suppression._meta.db_table} "  # noqa: S608
                "WHERE org_id = %s AND lifted_at IS NULL",
                (org.pk,),
            )
        )
        == suppressed
    )

    numbers = _manage(fresh_database, "kpis", org.slug, "--start", START, "--end", END)
    assert numbers.returncode == 0, numbers.stderr
    assert json.loads(numbers.stdout) == original

    again = _manage(fresh_database, "erasures_reapply", str(later))
    assert again.returncode == 0, again.stderr
    assert "'suppressions': 0, 'lifts': 0, 'contacts': 0" in again.stdout
    audit = f"SELECT data::text FROM {AuditLog._meta.db_table} WHERE action = 'erasures.reapply'"  # noqa: S608
    (entry,) = _read(fresh_database, audit)
    assert json.loads(entry[0]) == {
        "suppressions": sam_suppressions,
        "lifts": 0,
        "contacts": 1,
    }

    refused = _manage(fresh_database, "restore", str(dump), "--erasures", str(later))
    assert refused.returncode != 0
    assert "is not empty" in refused.stderr


def test_a_failed_dump_leaves_no_backup_and_does_not_print_the_password(tmp_path):
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}:s3cret-pw@{db.get('HOST') or '127.0.0.1'}/attr_no_such_db"
    done = subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "backup", "--output", str(tmp_path)],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert done.returncode != 0
    assert "pg_dump failed" in done.stderr
    assert "s3cret-pw" not in done.stderr + done.stdout
    # No half-written dump that a retention script could take for a backup.
    assert list(tmp_path.iterdir()) == []
