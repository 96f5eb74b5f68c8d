"""Two syncs of one org side by side, as the nightly fan-out runs them on a Celery worker pool.

A page takes its identifier locks a chunk at a time, so two pages naming the same people in
opposite orders deadlock, and PostgreSQL cancels one of them; a page's foreign-key checks can
deadlock the same way. The tests force both interleavings (a barrier after each page's first
chunk) with real transactions on two connections: the cancelled page must be applied again,
counted once, and not fail its run.
"""

from __future__ import annotations

import copy
import threading
import time

import pytest
import responses
from django.db import connection

from apps.contacts import services as contact_services
from apps.contacts.models import Contact, MergeCandidate, SourceRecord
from apps.integrations.ingest import ingest_record
from apps.integrations.models import SyncRun
from apps.integrations.services import credential_set
from apps.integrations.sync import sync_run
from attribution.sources import typeform
from tests.apps.integrations.test_sync_providers import listing, unpaced
from tests.attribution.sources.conftest import load_fixture

pytestmark = pytest.mark.django_db(transaction=True)

TYPEFORM = "https://api.typeform.com"
CLOSE = "https://api.close.com/api/v1"
PEOPLE = {
    "a": ("Ada", "Lovelace", "ada.lovelace@fastmail.com", "+14155550101"),
    "b": ("Ben", "Okafor", "ben.okafor@proton.me", "+14155550202"),
    # Two people of one name at one firm: their phones differ, so never one contact, but the
    # shared work domain makes them a pair to review.
    "c": ("Cara", "Diaz", "cara@diaz-studio.com", "+14155550303"),
    "c2": ("Cara", "Diaz", "cara.diaz@diaz-studio.com", "+14155550404"),
}


def form_response(key: str, submitted_at: str) -> dict:
    first, last, email, phone = PEOPLE[key]
    item = copy.deepcopy(load_fixture("typeform/form_response")["form_response"])
    item["token"] = f"tok-{key}"
    item["landed_at"] = item["submitted_at"] = submitted_at
    values = {"first_name": first, "last_name": last, "email": email, "phone": phone}
    for answer in item["answers"]:
        answer[answer["type"]] = values[answer["field"]["ref"]]
    return item


def close_lead(key: str, created: str, person: tuple[str, str, str, str] | None = None) -> dict:
    """A Close lead of one contact: ``person`` (first, last, email, phone), else PEOPLE[key]."""
    first, last, email, phone = person or PEOPLE[key]
    return {
        "id": f"lead_{key}",
        "display_name": f"{first} {last}",
        "status_label": "Qualified",
        "contacts": [
            {
                "id": f"cont_{key}",
                "lead_id": f"lead_{key}",
                "name": f"{first} {last}",
                "emails": [{"email": email, "type": "office"}],
                "phones": [{"phone": phone, "type": "mobile"}],
            }
        ],
        "date_created": created,
        "date_updated": created,
    }


def side_by_side(org, answers: list[dict], leads: list[dict]) -> dict[str, SyncRun]:
    """A Typeform sync of ``answers`` and a Close sync of ``leads``, on two threads at once."""
    definition = load_fixture("typeform/form_response")["form_response"]["definition"]
    runs: dict[str, SyncRun] = {}

    def run(provider: str) -> None:
        try:
            runs[provider] = sync_run(org=org, provider=provider, client_options=unpaced())
        finally:
            connection.close()

    with responses.RequestsMock() as rsps:
        rsps.get(f"{TYPEFORM}/forms", json={"items": [{"id": "F1"}], "page_count": 1})
        rsps.get(f"{TYPEFORM}/forms/F1", json=definition)
        rsps.get(
            f"{TYPEFORM}/forms/F1/responses",
            json={"total_items": len(answers), "page_count": 1, "items": answers},
        )
        rsps.get(f"{CLOSE}/user/", json=listing([]))
        rsps.get(f"{CLOSE}/lead/", json=listing(leads))
        rsps.get(f"{CLOSE}/opportunity/", json=listing([]))
        rsps.get(f"{CLOSE}/activity/call/", json=listing([]))
        threads = [threading.Thread(target=run, args=(p,), name=p) for p in ("typeform", "close")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    for provider in ("typeform", "close"):
        run = runs[provider]
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert run.failed == 0
        # A page applied again is counted once.
        for resource, done in run.progress["resources"].items():
            expected = (
                len(answers) if provider == "typeform" else len(leads) * (resource == "leads")
            )
            assert done == {"pages": 1, "items": expected}, (provider, resource, done)
    # The interleaving did deadlock, and the victim's page was applied again.
    assert sum(run.progress.get("page_retries", 0) for run in runs.values()) >= 1
    return runs


@pytest.fixture
def org(team_a):
    org = team_a.org
    credential_set(org=org, provider="typeform", name="api_token", value="tf_tok", actor=None)
    credential_set(org=org, provider="close", name="api_key", value="api_close", actor=None)
    return org


def interleave(monkeypatch, *, typeform_pause: float = 0.0) -> None:
    """Each page resolves one person per chunk and, after its first chunk, waits for the other
    page to have resolved its first too: each then holds locks the other needs next. The
    Typeform page can then pause, so the Close page is the first to wait."""
    monkeypatch.setattr(contact_services, "RESOLVE_CHUNK", 1)
    barrier = threading.Barrier(2)
    seen = threading.local()
    original = contact_services._resolve_chunk

    def resolve_chunk(*args, **kwargs):
        results = original(*args, **kwargs)
        if not getattr(seen, "waited", False):
            seen.waited = True
            barrier.wait(timeout=30)
            if threading.current_thread().name == "typeform":
                time.sleep(typeform_pause)
        return results

    monkeypatch.setattr(contact_services, "_resolve_chunk", resolve_chunk)


def live_contacts(org):
    return Contact.objects.for_org(org).filter(merged_into__isnull=True)


def test_syncs_that_take_the_same_peoples_locks_in_opposite_orders_both_finish(org, monkeypatch):
    interleave(monkeypatch)
    # Typeform names Ada then Ben; Close, Ben then Ada.
    runs = side_by_side(
        org,
        [form_response("a", "2026-03-01T10:00:00Z"), form_response("b", "2026-03-01T11:00:00Z")],
        [
            close_lead("b", "2026-03-02T10:00:00+00:00"),
            close_lead("a", "2026-03-02T11:00:00+00:00"),
        ],
    )

    assert runs["typeform"].fetched == runs["close"].fetched == 2
    assert runs["typeform"].created == 2
    contacts = live_contacts(org)
    assert sorted(contacts.values_list("primary_email", flat=True)) == sorted(
        PEOPLE[key][2] for key in ("a", "b")
    )
    for contact in contacts:
        providers = SourceRecord.objects.for_org(org).filter(contact=contact)
        assert sorted(providers.values_list("provider", flat=True)) == ["close", "typeform"]


def test_a_deadlock_on_the_pages_foreign_key_checks_is_retried_too(org, monkeypatch):
    """The Typeform page queues a review of Cara's namesake (a foreign key to a contact it does
    not lock); the Close page locks that contact, then waits for the Typeform page's locks. The
    Typeform page's key check then waits for the Close page: a deadlock found at that check,
    which used to run at COMMIT, outside any retry."""
    ingest_record(org=org, record=_typeform_record("c", "2026-03-01T09:00:00Z"), via="webhook")
    cara = live_contacts(org).get()
    interleave(monkeypatch, typeform_pause=2.0)

    side_by_side(
        org,
        [form_response("c2", "2026-03-01T10:00:00Z"), form_response("b", "2026-03-01T11:00:00Z")],
        [
            close_lead("c", "2026-03-02T10:00:00+00:00"),
            close_lead("c2", "2026-03-02T11:00:00+00:00"),
        ],
    )

    contacts = live_contacts(org)
    assert sorted(contacts.values_list("primary_email", flat=True)) == sorted(
        PEOPLE[key][2] for key in ("b", "c", "c2")
    )
    # Cara's Close lead joined her; her namesake's answers and lead are one contact, reviewed.
    assert SourceRecord.objects.for_org(org).filter(contact=cara, provider="close").count() == 1
    namesake = contacts.get(primary_email=PEOPLE["c2"][2])
    assert SourceRecord.objects.for_org(org).filter(contact=namesake).count() == 2
    assert (
        MergeCandidate.objects.for_org(org)
        .filter(contact_a_id__in=(cara.pk, namesake.pk), contact_b_id__in=(cara.pk, namesake.pk))
        .exists()
    )


def _typeform_record(key: str, submitted_at: str):
    envelope = load_fixture("typeform/form_response")
    envelope["form_response"] = {
        **form_response(key, submitted_at),
        "form_id": "F1",
        "definition": envelope["form_response"]["definition"],
    }
    return typeform.parse_webhook(envelope)
