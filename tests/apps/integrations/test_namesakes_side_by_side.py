"""Two people of one name created at the same moment by two providers (issue 27): a Calendly
webhook and a Typeform sync page, both transactions open at once, so neither resolve sees the
other's uncommitted contact. Once both commit, the pair must be in the review queue, as a
serial run would have put it; and two existing contacts are never merged automatically.

Real transactions on two connections (threads), the webhook through its endpoint and the sync
against Typeform faked at the HTTP layer.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import responses
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.contacts import services as contact_services
from apps.contacts.models import Contact, MergeCandidate
from apps.integrations.models import SyncRun, WebhookEvent
from apps.integrations.services import credential_set
from apps.integrations.sync import sync_run
from attribution.sources.records import PersonObservation
from tests.apps.integrations.test_sync_concurrency import PEOPLE, form_response
from tests.apps.integrations.test_sync_providers import unpaced
from tests.apps.integrations.webhook_support import deliver, set_secrets
from tests.attribution.sources.conftest import load_fixture

pytestmark = pytest.mark.django_db(transaction=True)

TYPEFORM = "https://api.typeform.com"


@pytest.fixture
def org(team_a):
    org = team_a.org
    set_secrets(org)
    credential_set(org=org, provider="typeform", name="api_token", value="tf_tok", actor=None)
    return org


def calendly_booking(key: str, created_at: str) -> dict:
    first, last, email, phone = PEOPLE[key]
    envelope = load_fixture("calendly/invitee.created")
    envelope["payload"].update(
        email=email,
        name=f"{first} {last}",
        first_name=first,
        last_name=last,
        created_at=created_at,
        questions_and_answers=[{"question": "Phone number", "answer": phone, "position": 0}],
    )
    return envelope


def both_resolve_before_either_commits(monkeypatch, parties: int = 2) -> threading.Barrier:
    """Each ingestion, once it has resolved its person, waits for the other to have resolved
    too: both then commit contacts the other never saw."""
    barrier = threading.Barrier(parties)
    original = contact_services._resolve_chunk

    def resolve_chunk(*args, **kwargs):
        results = original(*args, **kwargs)
        if threading.current_thread().name in ("calendly", "typeform"):
            barrier.wait(timeout=30)
        return results

    monkeypatch.setattr(contact_services, "_resolve_chunk", resolve_chunk)
    return barrier


def run_side_by_side(org, booking: dict, answers: list[dict]) -> dict:
    definition = load_fixture("typeform/form_response")["form_response"]["definition"]
    outcome: dict = {}

    def webhook() -> None:
        try:
            outcome["calendly"] = deliver(Client(), "calendly", org.slug, booking).status_code
        finally:
            connection.close()

    def sync() -> None:
        try:
            outcome["typeform"] = sync_run(org=org, provider="typeform", client_options=unpaced())
        finally:
            connection.close()

    with responses.RequestsMock() as rsps:
        rsps.get(f"{TYPEFORM}/forms", json={"items": [{"id": "F1"}], "page_count": 1})
        rsps.get(f"{TYPEFORM}/forms/F1", json=definition)
        rsps.get(
            f"{TYPEFORM}/forms/F1/responses",
            json={"total_items": len(answers), "page_count": 1, "items": answers},
        )
        threads = [
            threading.Thread(target=webhook, name="calendly"),
            threading.Thread(target=sync, name="typeform"),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    return outcome


def test_namesakes_from_a_webhook_and_a_sync_page_side_by_side_are_queued(org, monkeypatch):
    both_resolve_before_either_commits(monkeypatch)

    outcome = run_side_by_side(
        org,
        calendly_booking("c", "2026-03-01T10:00:00.000000Z"),
        [form_response("c2", "2026-03-01T10:30:00Z")],
    )

    assert outcome["calendly"] == 200
    assert outcome["typeform"].status == SyncRun.Status.SUCCEEDED, outcome["typeform"].error
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED
    caras = Contact.objects.for_org(org).filter(first_name="Cara", last_name="Diaz")
    # Two existing contacts: never merged automatically.
    assert sorted(caras.values_list("primary_email", flat=True)) == sorted(
        [PEOPLE["c"][2], PEOPLE["c2"][2]]
    )
    a, b = sorted(caras.values_list("pk", flat=True))
    candidate = MergeCandidate.objects.for_org(org).get(contact_a_id=a, contact_b_id=b)
    assert candidate.status == MergeCandidate.Status.PENDING
    assert "created side by side: an admin decides" in candidate.reasons


def test_people_of_different_names_side_by_side_are_not_queued(org, monkeypatch):
    both_resolve_before_either_commits(monkeypatch)

    run_side_by_side(
        org,
        calendly_booking("a", "2026-03-01T10:00:00.000000Z"),
        [form_response("b", "2026-03-01T10:30:00Z")],
    )

    assert Contact.objects.for_org(org).count() == 2
    assert not MergeCandidate.objects.for_org(org).exists()


def _cara_diazes(n: int, tag: str) -> list[PersonObservation]:
    at = datetime(2026, 3, 1, 10, tzinfo=UTC)
    return [
        PersonObservation(
            source="typeform",
            observed_at=at + timedelta(minutes=i),
            emails=(f"cara.{tag}{i}@fastmail.com",),
            first_name="Cara",
            last_name="Diaz",
        )
        for i in range(n)
    ]


def _review_queries(org, n: int) -> tuple[int, int]:
    window = contact_services.namesakes_window(org=org)
    mine = contact_services.contact_resolve_many(org=org, observations=_cara_diazes(n, "a"))
    # Another transaction's namesakes, created after the window was taken.
    contact_services.contact_resolve_many(org=org, observations=_cara_diazes(n, "b"))
    with CaptureQueriesContext(connection) as queries:
        queued = contact_services.namesakes_review_beside(
            org=org, contact_ids=[r.contact.pk for r in mine], window=window
        )
    return len(queries), queued


def test_the_review_after_a_commit_costs_the_same_queries_however_many_it_created(team_a, team_b):
    small, small_queued = _review_queries(team_a.org, 3)
    large, large_queued = _review_queries(team_b.org, 30)

    assert small_queued > 0 and large_queued > small_queued
    assert small == large
