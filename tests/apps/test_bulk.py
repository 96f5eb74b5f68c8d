"""apps.orgs.bulk and the ``__any`` lookup: the sync's bulk writes store exactly what
``bulk_create`` stores, and refuse what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError, transaction

from apps.contacts.models import (
    Contact,
    ContactNameKey,
    Identifier,
    MergeCandidate,
    SourceRecord,
)
from apps.orgs.bulk import bulk_insert, insert_rows
from tests.factories import ContactFactory

# Quotes, backslashes, braces, commas, non-Latin text, nesting and nulls: the characters an
# array literal or a hand-built JSON string gets wrong.
TRICKY = {
    "answer": 'He said "yes", then {no}\\maybe',
    "names": ["Zoë", "李雷", "O'Brien", None],
    "nested": {"a": [1, 2.5, {"b": True}], "empty": {}, "none": None},
}


def _row_values(obj, names):
    return {name: getattr(obj, name) for name in names}


@pytest.mark.django_db
def test_bulk_insert_stores_what_bulk_create_stores(team_a):
    contact = ContactFactory(org=team_a.org)
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

    def records(prefix):
        return [
            SourceRecord(
                org=team_a.org,
                provider="typeform",
                object_type="form_response",
                external_id=f"{prefix}-{i}",
                payload={**TRICKY, "i": i},
                contact=contact if i % 2 else None,
                occurred_at=at if i % 2 else None,
            )
            for i in range(3)
        ]

    ours, django = records("ours"), records("django")
    bulk_insert(ours)
    SourceRecord.objects.bulk_create(django)

    names = ["provider", "object_type", "payload", "contact_id", "occurred_at", "org_id"]
    for mine, theirs in zip(ours, django, strict=True):
        assert mine.pk is not None and not mine._state.adding
        stored = SourceRecord.objects.get(pk=mine.pk)
        assert stored.external_id == mine.external_id  # the pk went to the right object
        assert _row_values(stored, names) == _row_values(
            SourceRecord.objects.get(pk=theirs.pk), names
        )
        assert stored.received_at is not None and stored.updated_at is not None


@pytest.mark.django_db
def test_update_conflicts_updates_the_existing_row_and_returns_its_key(team_a):
    first = bulk_insert(
        [
            SourceRecord(
                org=team_a.org, provider="close", object_type="lead", external_id="L1",
                payload={"v": 1}, contact=None,
            )
        ]
    )[0]  # fmt: skip
    again = SourceRecord(
        org=team_a.org, provider="close", object_type="lead", external_id="L1",
        payload={"v": 2}, contact=None,
    )  # fmt: skip
    bulk_insert(
        [again],
        unique_fields=["org", "provider", "object_type", "external_id"],
        update_fields=["payload", "updated_at"],
    )
    assert again.pk == first.pk
    assert SourceRecord.objects.filter(external_id="L1").count() == 1
    assert SourceRecord.objects.get(pk=first.pk).payload == {"v": 2}


@pytest.mark.django_db
def test_ignore_conflicts_skips_duplicates_and_sets_no_keys(team_a):
    contact = ContactFactory(org=team_a.org)
    ContactNameKey.objects.create(org=team_a.org, contact=contact, key="n:S530:j")
    keys = [
        ContactNameKey(org=team_a.org, contact=contact, key="n:S530:j"),
        ContactNameKey(org=team_a.org, contact=contact, key="n:J500:s"),
    ]
    bulk_insert(keys, ignore_conflicts=True)
    assert all(k.pk is None for k in keys)
    assert sorted(contact.name_keys.values_list("key", flat=True)) == ["n:J500:s", "n:S530:j"]


@pytest.mark.django_db
def test_insert_rows_fills_defaults_and_stamps(team_a):
    a, b = ContactFactory(org=team_a.org), ContactFactory(org=team_a.org)
    [pk] = insert_rows(
        MergeCandidate,
        [{"org_id": team_a.org.pk, "contact_a_id": a.pk, "contact_b_id": b.pk, "score": 0.75}],
    )
    row = MergeCandidate.objects.get(pk=pk)
    assert row.status == MergeCandidate.Status.PENDING
    assert row.reasons == []
    assert row.score == Decimal("0.7500")
    assert row.created_at is not None


@pytest.mark.django_db
def test_insert_rows_refuses_an_unknown_column_and_writes_nothing(team_a):
    contact = ContactFactory(org=team_a.org)
    rows = [
        {"org_id": team_a.org.pk, "contact_id": contact.pk, "kind": "email", "value": "a@x.io"},
        {"org_id": team_a.org.pk, "contact": contact, "kind": "email", "value": "b@x.io"},
    ]
    with pytest.raises(ValueError, match="Identifier has no column contact"):
        insert_rows(Identifier, rows)
    assert not Identifier.objects.filter(contact=contact).exists()


@pytest.mark.django_db
def test_a_value_too_long_fails_instead_of_being_cut(team_a):
    contact = ContactFactory(org=team_a.org)
    row = {"org_id": team_a.org.pk, "contact_id": contact.pk, "kind": "email", "value": "x" * 321}
    with pytest.raises(DataError), transaction.atomic():
        insert_rows(Identifier, [row])
    assert not Identifier.objects.filter(contact=contact).exists()


@pytest.mark.django_db
def test_constraints_still_hold(team_a):
    contact, other = ContactFactory(org=team_a.org), ContactFactory(org=team_a.org)
    row = {"org_id": team_a.org.pk, "kind": "email", "value": "same@x.io"}
    insert_rows(Identifier, [{**row, "contact_id": contact.pk}])
    # A second unshared owner of one value is what identifier_unique_value forbids.
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(Identifier, [{**row, "contact_id": other.pk}])


@pytest.mark.django_db
def test_an_unsaved_related_object_is_refused(team_a):
    unsaved = Contact(org=team_a.org)
    with pytest.raises(ValueError, match="contact of Identifier is not saved yet"):
        bulk_insert([Identifier(org=team_a.org, contact=unsaved, kind="email", value="u@x.io")])


@pytest.mark.django_db
def test_an_object_assigned_before_it_was_saved_gives_its_key(team_a):
    contact = Contact(org=team_a.org, first_name="Late")
    identifier = Identifier(org=team_a.org, contact=contact, kind="email", value="late@x.io")
    bulk_insert([contact])
    bulk_insert([identifier])
    assert Identifier.objects.get(pk=identifier.pk).contact_id == contact.pk


@pytest.mark.django_db
def test_any_lookup_matches_in(team_a, team_b):
    mine = [ContactFactory(org=team_a.org, first_name=n) for n in ("Ann", "Bob", 'Q"uote')]
    theirs = ContactFactory(org=team_b.org, first_name="Ann")
    names = ["Ann", 'Q"uote', "Nobody"]
    in_org = Contact.objects.for_org(team_a.org)
    assert set(in_org.filter(first_name__any=names)) == set(in_org.filter(first_name__in=names))
    assert set(in_org.filter(first_name__any=names)) == {mine[0], mine[2]}
    assert theirs not in Contact.objects.for_org(team_a.org).filter(pk__any=[theirs.pk])
    assert list(Contact.objects.filter(pk__any=[])) == []
    identifier = Identifier.objects.create(
        org=team_a.org, contact=mine[1], kind="email", value="bob@x.io"
    )
    assert list(Identifier.objects.filter(contact_id__any={mine[1].pk})) == [identifier]
    assert list(Identifier.objects.filter(contact__any=[mine[0].pk])) == []


@pytest.mark.django_db
def test_bulk_statements_are_seen_by_query_capture_and_keep_django_errors(team_a):
    """The server-bound cursor stays visible to CaptureQueriesContext (query-count tests rely
    on it) and logs the statement without its rows; errors are Django's, and a broken
    transaction is refused as Django refuses it."""
    from django.db import connection
    from django.db.transaction import TransactionManagementError
    from django.test.utils import CaptureQueriesContext

    row = {
        "org_id": team_a.org.pk,
        "contact_id": ContactFactory(org=team_a.org).pk,
        "key": "n:S530:J",
    }
    with CaptureQueriesContext(connection) as captured:
        insert_rows(ContactNameKey, [row, {**row, "key": "n:J500:S"}])
    inserts = [q["sql"] for q in captured if "jsonb_to_recordset" in q["sql"]]
    assert len(inserts) == 1 and "S530" not in inserts[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(ContactNameKey, [row])
    with transaction.atomic():
        transaction.set_rollback(True)
        with pytest.raises(TransactionManagementError):
            insert_rows(ContactNameKey, [{**row, "key": "n:X000:Y"}])
    assert ContactNameKey.objects.filter(key="n:X000:Y").count() == 0
