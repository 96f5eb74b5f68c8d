"""Two syncs of one org side by side, as the nightly fan-out runs them on a Celery worker pool.

A page takes its identifier locks a chunk at a time, so two pages naming the same people in
opposite orders deadlock, and PostgreSQL cancels one of them. The test forces that interleaving
(a barrier after each page's first chunk) with real transactions on two connections: the
cancelled page must be applied again, not fail its run.
"""

from __future__ import annotations

import copy
import threading

import pytest
import responses
from django.db import connection

from apps.contacts import services as contact_services
from apps.contacts.models import Contact, SourceRecord
from apps.integrations.models import SyncRun
from apps.integrations.services import credential_set
from apps.integrations.sync import sync_run
from tests.attribution.sources.conftest import load_fixture

pytestmark = pytest.mark.django_db(transaction=True)

TYPEFORM = "https://api.typeform.com"
CLOSE = "https://api.close.com/api/v1"
PEOPLE = {
    "a": ("Ada", "Lovelace", "ada.lovelace@fastmail.com", "+14155550101"),
    "b": ("Ben", "Okafor", "ben.okafor@proton.me", "+14155550202"),
}


def unpaced():
    return {"rate_per_second": 1e9, "sleep": lambda seconds: None}


def form_response(key: str, submitted_at: str) -> dict:
    first, last, email, phone = PEOPLE[key]
    item = copy.deepcopy(load_fixture("typeform/form_response")["form_response"])
    item["token"] = f"tok-{key}"
    item["landed_at"] = item["submitted_at"] = submitted_at
    values = {"first_name": first, "last_name": last, "email": email, "phone": phone}
    for answer in item["answers"]:
        answer[answer["type"]] = values[answer["field"]["ref"]]
    return item


def close_lead(key: str, created: str) -> dict:
    first, last, email, phone = PEOPLE[key]
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


def listing(items):
    return {"data": items, "has_more": False}


@pytest.fixture
def interleaved(monkeypatch):
    """Each page resolves one person per chunk and, after its first chunk, waits for the other
    page to have resolved its first too: each then holds the locks the other needs next."""
    monkeypatch.setattr(contact_services, "RESOLVE_CHUNK", 1)
    barrier = threading.Barrier(2)
    seen = threading.local()
    original = contact_services._resolve_chunk

    def resolve_chunk(*args, **kwargs):
        results = original(*args, **kwargs)
        if not getattr(seen, "waited", False):
            seen.waited = True
            barrier.wait(timeout=30)
        return results

    monkeypatch.setattr(contact_services, "_resolve_chunk", resolve_chunk)


def test_syncs_of_one_org_that_deadlock_on_shared_people_both_finish(team_a, interleaved):
    org = team_a.org
    credential_set(org=org, provider="typeform", name="api_token", value="tf_tok", actor=None)
    credential_set(org=org, provider="close", name="api_key", value="api_close", actor=None)
    definition = load_fixture("typeform/form_response")["form_response"]["definition"]
    # Typeform names Ada then Ben; Close, Ben then Ada.
    answers = [
        form_response("a", "2026-03-01T10:00:00Z"),
        form_response("b", "2026-03-01T11:00:00Z"),
    ]
    leads = [
        close_lead("b", "2026-03-02T10:00:00+00:00"),
        close_lead("a", "2026-03-02T11:00:00+00:00"),
    ]
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
            json={"total_items": 2, "page_count": 1, "items": answers},
        )
        rsps.get(f"{CLOSE}/user/", json=listing([]))
        rsps.get(f"{CLOSE}/lead/", json=listing(leads))
        rsps.get(f"{CLOSE}/opportunity/", json=listing([]))
        rsps.get(f"{CLOSE}/activity/call/", json=listing([]))
        threads = [threading.Thread(target=run, args=(p,)) for p in ("typeform", "close")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    for provider in ("typeform", "close"):
        assert runs[provider].status == SyncRun.Status.SUCCEEDED, runs[provider].error
        assert runs[provider].fetched == 2 and runs[provider].failed == 0
    assert runs["typeform"].created == 2
    contacts = Contact.objects.for_org(org).filter(merged_into__isnull=True)
    assert sorted(contacts.values_list("primary_email", flat=True)) == sorted(
        email for _, _, email, _ in PEOPLE.values()
    )
    for contact in contacts:
        providers = SourceRecord.objects.for_org(org).filter(contact=contact)
        assert sorted(providers.values_list("provider", flat=True)) == ["close", "typeform"]
