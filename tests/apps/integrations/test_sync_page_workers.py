"""A walk's pages applied side by side by page workers: real child processes on their own
PostgreSQL connections, fed by a sync whose provider API is faked at the HTTP layer.

What a user relies on: the same rows as a run that applies every page itself, whatever order
the pages commit in; a cursor that never passes a page not in the database, so a run whose
worker dies resumes and ends with no duplicate; Close opportunities finding the contacts their
leads made.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import threading
import time
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from django.db import connection

from apps.contacts.models import Contact, MergeCandidate, SourceRecord, Touchpoint
from apps.deals.models import Deal
from apps.integrations import sync_pages
from apps.integrations.models import SyncCursor, SyncRun
from apps.integrations.providers.close import client as close_client
from apps.integrations.providers.typeform import client as typeform_client
from apps.integrations.services import credential_set
from apps.integrations.sync import sync_run
from apps.kpis import invalidation as kpi_invalidation
from apps.kpis.models import DailyRollup
from apps.kpis.services import rollup_check
from apps.meetings.models import Meeting
from apps.orgs.models import Organization
from tests.apps.integrations.test_sync import FakeCalendly
from tests.apps.integrations.test_sync_concurrency import close_lead
from tests.apps.integrations.test_sync_providers import listing, unpaced
from tests.attribution.sources.conftest import load_fixture

pytestmark = pytest.mark.django_db(transaction=True)

TYPEFORM = "https://api.typeform.com"
CLOSE = "https://api.close.com/api/v1"
FIRST = ["Ada", "Ben", "Cara", "Dev", "Eve", "Finn", "Gia", "Hal", "Ida", "Jon", "Kai", "Lea"]
LAST = ["Lovelace", "Okafor", "Diaz", "Patel", "Novak", "Berg", "Rossi", "Kim", "Sato", "Moss"]


@pytest.fixture
def workers(settings, monkeypatch):
    settings.SYNC_PAGE_WORKERS = 2
    # Small pages, so a few records make a walk of many (the coordinator pages; workers don't).
    monkeypatch.setattr(typeform_client, "RESPONSES_PAGE_SIZE", 4)


def person(i: int) -> tuple[str, str, str, str]:
    first, last = FIRST[i % len(FIRST)], LAST[i // len(FIRST) % len(LAST)]
    return first, last, f"{first}.{last}{i}@fastmail.com".lower(), f"+1415555{i:04d}"


def response(i: int, token: str | None = None) -> dict:
    first, last, email, phone = person(i)
    item = copy.deepcopy(load_fixture("typeform/form_response")["form_response"])
    item["token"] = token or f"tok-{i}"
    item["landed_at"] = item["submitted_at"] = f"2026-03-01T10:{i // 60:02d}:{i % 60:02d}Z"
    values = {"first_name": first, "last_name": last, "email": email, "phone": phone}
    for answer in item["answers"]:
        answer[answer["type"]] = values[answer["field"]["ref"]]
    return item


def typeform_api(rsps, answers: list[dict]) -> None:
    """Typeform's responses list: ``page_size`` a page, walked with ``after`` tokens."""
    definition = load_fixture("typeform/form_response")["form_response"]["definition"]
    rsps.get(f"{TYPEFORM}/forms", json={"items": [{"id": "F1"}], "page_count": 1})
    rsps.get(f"{TYPEFORM}/forms/F1", json=definition)
    tokens = [item["token"] for item in answers]

    def page(request):
        query = parse_qs(urlparse(request.url).query)
        size = int(query["page_size"][0])
        start = tokens.index(query["after"][0]) + 1 if "after" in query else 0
        body = {"total_items": len(answers), "page_count": 1, "items": answers[start:][:size]}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    rsps.add_callback(responses.GET, f"{TYPEFORM}/forms/F1/responses", callback=page)


def typeform_sync(org, answers, **kwargs) -> SyncRun:
    with responses.RequestsMock() as rsps:
        typeform_api(rsps, answers)
        return sync_run(org=org, provider="typeform", client_options=unpaced(), **kwargs)


def new_org(slug: str) -> Organization:
    org = Organization.objects.create(slug=slug, name=slug)
    credential_set(org=org, provider="typeform", name="api_token", value="tf_tok", actor=None)
    credential_set(org=org, provider="close", name="api_key", value="api_close", actor=None)
    return org


def answers_for_test() -> list[dict]:
    """22 responses of 20 people, 4 a page: one person answers twice, pages apart, and one
    response is listed twice, ending page 1 and starting page 2, which the workers apply at
    the same time."""
    answers = [response(i, token=f"tok-{i:03d}") for i in range(20)]
    answers.append(response(3, token="tok-020"))
    answers.insert(4, copy.deepcopy(answers[3]))
    return answers


def table(org) -> dict:
    contacts = Contact.objects.for_org(org).filter(merged_into__isnull=True)
    records = SourceRecord.objects.for_org(org)
    return {
        "contacts": sorted(contacts.values_list("primary_email", flat=True)),
        "records": records.count(),
        "distinct records": records.values("provider", "external_id").distinct().count(),
    }


def counts(run: SyncRun) -> dict:
    return {f: getattr(run, f) for f in ("fetched", "created", "updated", "unchanged", "failed")}


def test_pages_applied_by_workers_give_what_a_serial_run_gives(workers, settings):
    answers = answers_for_test()
    serial_org, parallel_org = new_org("serial"), new_org("side-by-side")

    settings.SYNC_PAGE_WORKERS = 1
    serial = typeform_sync(serial_org, answers)
    settings.SYNC_PAGE_WORKERS = 2
    parallel = typeform_sync(parallel_org, answers)

    assert serial.status == parallel.status == SyncRun.Status.SUCCEEDED, parallel.error
    assert "page_workers" not in serial.progress
    assert parallel.progress["page_workers"]["count"] == 2
    assert len(parallel.progress["page_workers"]["peak_rss_mb"]) == 2
    assert table(parallel_org) == table(serial_org)
    assert len(table(parallel_org)["contacts"]) == 20
    # The response listed twice is one row either way.
    assert table(parallel_org)["records"] == table(parallel_org)["distinct records"] == 21
    assert counts(parallel) == counts(serial)
    assert parallel.fetched == 22
    assert parallel.progress["resources"]["responses:F1"] == {"pages": 6, "items": 22}
    cursor = SyncCursor.objects.get(org=parallel_org, provider="typeform")
    assert "walk" not in cursor.cursor and cursor.cursor["last_success_at"]

    # The next run reads everything again from the overlap and changes nothing.
    again = typeform_sync(parallel_org, answers, full=True)
    assert again.status == SyncRun.Status.SUCCEEDED
    assert again.unchanged == 22 and again.created == again.updated == 0
    assert table(parallel_org) == table(serial_org)


def _page_workers_of_this_process() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"apps.integrations.page_workers" in cmdline:
            pids.append(int(entry.name))
    return pids


def test_a_run_whose_worker_dies_fails_clearly_and_the_next_resumes_without_duplicates(workers):
    answers = [response(i, token=f"tok-{i:03d}") for i in range(40)]
    org = new_org("killed")
    killed = []

    def kill_a_worker(run):
        # After the first pages are saved: the walk is far from over (10 pages).
        if not killed and run.progress.get("resources"):
            pid = _page_workers_of_this_process()[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    first = typeform_sync(org, answers, on_progress=kill_a_worker)

    assert killed
    assert first.status == SyncRun.Status.FAILED
    assert "page worker stopped" in first.error
    walk = SyncCursor.objects.get(org=org, provider="typeform").cursor["walk"]
    saved = first.progress["resources"]["responses:F1"]["items"]
    assert 0 < saved < 40
    # The cursor never passes a page that is not in the database.
    assert walk["position"] == {"after": f"tok-{saved - 1:03d}"}
    stored = set(SourceRecord.objects.for_org(org).values_list("external_id", flat=True))
    assert {f"tok-{i:03d}" for i in range(saved)} <= stored
    # Every worker is gone with the run.
    assert _page_workers_of_this_process() == []

    second = typeform_sync(org, answers)

    assert second.status == SyncRun.Status.SUCCEEDED, second.error
    assert second.progress["resumed"] is True
    assert second.fetched == 40 - saved
    assert SourceRecord.objects.for_org(org).count() == 40
    assert len(table(org)["contacts"]) == 40


def test_close_opportunities_on_workers_find_the_contacts_their_leads_made(workers, monkeypatch):
    monkeypatch.setattr(close_client, "PAGE_SIZE", 2)
    org = new_org("close-pages")
    leads, opportunities = [], []
    for i in range(7):
        leads.append(close_lead(str(i), f"2026-03-02T10:00:0{i}+00:00", person(i)))
        opportunities.append(
            {
                **load_fixture("close/opportunity.updated")["event"]["data"],
                "id": f"oppo_{i}",
                "lead_id": f"lead_{i}",
                "contact_id": f"cont_{i}",
                "user_id": None,
                "date_created": f"2026-03-03T10:00:0{i}+00:00",
            }
        )

    def listed(items):
        def page(request):
            query = parse_qs(urlparse(request.url).query)
            skip, limit = int(query["_skip"][0]), int(query["_limit"][0])
            body = {"data": items[skip : skip + limit], "has_more": skip + limit < len(items)}
            return 200, {"Content-Type": "application/json"}, json.dumps(body)

        return page

    with responses.RequestsMock() as rsps:
        rsps.get(f"{CLOSE}/user/", json=listing([]))
        rsps.add_callback(responses.GET, f"{CLOSE}/lead/", callback=listed(leads))
        rsps.add_callback(responses.GET, f"{CLOSE}/opportunity/", callback=listed(opportunities))
        rsps.get(f"{CLOSE}/activity/call/", json=listing([]))
        run = sync_run(org=org, provider="close", client_options=unpaced())

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.progress["page_workers"]["count"] == 2
    assert run.progress["resources"]["leads"] == {"pages": 4, "items": 7}
    assert run.progress["resources"]["opportunities"] == {"pages": 4, "items": 7}
    deals = Deal.objects.for_org(org).select_related("contact")
    assert deals.count() == 7
    for deal in deals:
        i = int(deal.external_id.removeprefix("oppo_"))
        assert deal.contact.primary_email == person(i)[2]
    assert len(table(org)["contacts"]) == 7


def test_namesakes_on_pages_applied_at_the_same_time_are_still_reviewed(workers):
    """Two people of one name, on pages that two workers apply at once: neither page's resolve
    sees the other's uncommitted contact. A serial run queues them for review; so must this."""
    cara = [response(i, token=f"tok-{i:03d}") for i in range(8)]
    for item, email in ((cara[0], "cara@fastmail.com"), (cara[4], "cara.diaz@proton.me")):
        for answer in item["answers"]:
            ref = answer["field"]["ref"]
            if ref in ("first_name", "last_name", "email"):
                answer[answer["type"]] = {"first_name": "Cara", "last_name": "Diaz"}.get(ref, email)
    org = new_org("namesakes")
    waiting = []

    def hold_both_pages_before_commit():
        # Both pages resolve their people first, then write their touchpoints: with the table
        # locked, each waits there holding its new contact uncommitted, until both do.
        raw = connection.get_new_connection(connection.get_connection_params())
        try:
            with raw.transaction():
                raw.execute(f"LOCK TABLE {Touchpoint._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    # Statistics views are read once per transaction unless cleared.
                    raw.execute("SELECT pg_stat_clear_snapshot()")
                    (count,) = raw.execute(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    ).fetchone()
                    if count >= 2:
                        waiting.append(count)
                        break
                    time.sleep(0.05)
        finally:
            raw.close()

    holder = threading.Thread(target=hold_both_pages_before_commit)
    holder.start()
    try:
        run = typeform_sync(org, cara)
    finally:
        holder.join(timeout=60)

    assert waiting == [2]
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    contacts = Contact.objects.for_org(org).filter(first_name="Cara", last_name="Diaz")
    assert contacts.count() == 2
    a, b = sorted(contacts.values_list("pk", flat=True))
    candidate = MergeCandidate.objects.for_org(org).get(contact_a_id=a, contact_b_id=b)
    assert "created side by side: an admin decides" in candidate.reasons
    # Weighed by the commit of whichever page came second (ingest's review beside), once.
    assert MergeCandidate.objects.for_org(org).count() == 1


@pytest.fixture
def refused_token():
    """PostgreSQL refuses one response's row, in whichever process writes it: a page no worker
    can apply (parsing fits every value to its column, so no payload can do this any more)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_tok_006() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.external_id = 'tok-006' THEN "
            "RAISE EXCEPTION 'refused row of ada@example.com' USING ERRCODE = '22001'; "
            "END IF; RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_tok_006 BEFORE INSERT ON contacts_sourcerecord "
            "FOR EACH ROW EXECUTE FUNCTION refuse_tok_006()"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER refuse_tok_006 ON contacts_sourcerecord")
        cursor.execute("DROP FUNCTION refuse_tok_006()")


def test_a_page_a_worker_cannot_apply_fails_the_run_and_the_cursor_stays_before_it(
    workers, refused_token
):
    answers = [response(i, token=f"tok-{i:03d}") for i in range(12)]  # tok-006: on page 2
    org = new_org("refused")

    run = typeform_sync(org, answers)

    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("SyncError: responses:F1 page 2 of this run: DataError")
    assert "ada@example.com" not in run.error  # the database quoted it; the run does not
    walk = SyncCursor.objects.get(org=org, provider="typeform").cursor["walk"]
    assert walk["position"] == {"after": "tok-003"}
    assert run.progress["resources"]["responses:F1"] == {"pages": 1, "items": 4}
    stored = set(SourceRecord.objects.for_org(org).values_list("external_id", flat=True))
    assert {f"tok-{i:03d}" for i in range(4)} <= stored
    assert not stored & {f"tok-{i:03d}" for i in range(4, 8)}
    assert _page_workers_of_this_process() == []


def test_calendly_pages_on_workers_add_up_counts_and_reconciliation(workers, team_a):
    org = team_a.org
    credential_set(org=org, provider="calendly", name="api_token", value="cal_tok", actor=None)

    with responses.RequestsMock() as rsps:
        FakeCalendly(250, canceled={7}).install(rsps)
        first = sync_run(org=org, provider="calendly", client_options=unpaced())
    # Canceled since, and the webhook never came: found by the next run.
    with responses.RequestsMock() as rsps:
        FakeCalendly(250, canceled={7, 120}).install(rsps)
        second = sync_run(org=org, provider="calendly", client_options=unpaced())

    for run in (first, second):
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert run.progress["page_workers"]["count"] == 2
        assert run.progress["resources"]["scheduled_events"] == {"pages": 3, "items": 250}
    assert counts(first) == {
        "fetched": 250, "created": 250, "updated": 0, "unchanged": 0, "failed": 0
    }  # fmt: skip
    assert counts(second) == {
        "fetched": 250, "created": 0, "updated": 1, "unchanged": 249, "failed": 0
    }  # fmt: skip
    assert second.reconciliation["missed_by_webhooks"] == 1
    assert second.reconciliation["cancellations_discovered"] == 1
    assert second.reconciliation["by_resource"]["invitees"] == {"created": 0, "updated": 1}
    meetings = Meeting.objects.for_org(org)
    assert meetings.count() == 250
    assert set(meetings.filter(status="canceled").values_list("external_id", flat=True)) == {
        f"https://api.calendly.com/scheduled_events/SE{n:05d}/invitees/IN{n:05d}" for n in (7, 120)
    }


def test_three_workers_on_pages_of_a_thousand_fit_a_stock_servers_lock_table(settings):
    """Each applied item holds about five advisory locks until its transaction commits, and a
    stock PostgreSQL has room for 6,400 across all sessions: three pages of 1,000 applied in one
    transaction each ran out of shared memory. A page is applied in smaller transactions."""
    settings.SYNC_PAGE_WORKERS = 3
    answers = [response(i, token=f"tok-{i:04d}") for i in range(3001)]
    org = new_org("locks")

    run = typeform_sync(org, answers)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.progress["page_workers"]["count"] == 3
    assert run.progress["resources"]["responses:F1"] == {"pages": 4, "items": 3001}
    assert SourceRecord.objects.for_org(org).count() == 3001


def test_a_page_applied_in_parts_saves_its_position_last_and_refreshes_the_rollups_once(
    monkeypatch,
):
    """Serial here (the test's monkeypatches reach only this process)."""
    monkeypatch.setattr(sync_pages, "TRANSACTION_ITEMS", 2)
    refreshes = []
    real_enqueue = kpi_invalidation._enqueue
    monkeypatch.setattr(
        kpi_invalidation, "_enqueue", lambda *args: refreshes.append(args) or real_enqueue(*args)
    )
    org = new_org("parts")
    answers = [response(i, token=f"tok-{i:03d}") for i in range(5)]

    run = typeform_sync(org, answers)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert counts(run) == {"fetched": 5, "created": 5, "updated": 0, "unchanged": 0, "failed": 0}
    assert run.progress["resources"]["responses:F1"] == {"pages": 1, "items": 5}
    assert SourceRecord.objects.for_org(org).count() == 5
    assert [org_id for org_id, _ in refreshes] == [org.pk]  # three transactions, one refresh
    assert rollup_check(org=org, start=date(2026, 2, 28), end=date(2026, 3, 2)) == []
    assert DailyRollup.objects.get(org=org, grain="day", date=date(2026, 3, 1)).leads == 5
