"""ingest_records: a sync page applied in one pass gives the rows and outcomes that
ingest_record gives one record at a time, in a number of queries that does not grow with the
page."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.contacts.models import Contact, SourceRecord, Touchpoint
from apps.deals.models import Deal
from apps.integrations.ingest import Outcome, ingest_record, ingest_records
from apps.kpis.services import rollup_check, rollup_rebuild
from attribution.sources import close, typeform
from tests.attribution.sources.conftest import load_fixture


def form(i: int, *, email: str | None = None, utm: str = "youtube", anonymous: bool = False):
    envelope = copy.deepcopy(load_fixture("typeform/form_response"))
    response = envelope["form_response"]
    response["token"] = f"tok{i}"
    response["hidden"]["utm_source"] = utm
    answers = []
    for answer in response["answers"]:
        ref = answer["field"].get("ref")
        if answer["type"] == "email":
            answer["email"] = email or f"lead{i}@example.com"
        elif answer["type"] == "phone_number":
            answer["phone_number"] = f"+1415555{i:04d}"
        elif ref == "first_name":
            answer["text"] = f"Lead{i}"
        if anonymous and answer["type"] in ("email", "phone_number"):
            continue
        answers.append(answer)
    response["answers"] = answers
    return typeform.parse_webhook(envelope, field_mapping={}), response


def lead(i: int, *, email: str | None = None, status: str = "Qualified"):
    person = copy.deepcopy(load_fixture("close/contact.created")["event"]["data"])
    person.update(id=f"cont_{i}", lead_id=f"lead_{i}", name=f"Close Person{i}")
    person["emails"] = [{"email": email or f"close{i}@example.com", "type": "office"}]
    person["phones"] = []
    obj = {
        "id": f"lead_{i}",
        "display_name": f"Company {i}",
        "status_label": status,
        "contacts": [person],
        "date_created": "2026-03-02T16:00:00.000000+00:00",
        "date_updated": "2026-03-02T16:00:00.000000+00:00",
    }
    return close.parse_lead(obj), obj


def opportunity(i: int, *, status: str = "won", value: int | None = None):
    obj = copy.deepcopy(load_fixture("close/opportunity.updated")["event"]["data"])
    obj.update(
        id=f"oppo_{i}",
        lead_id=f"lead_{i}",
        contact_id=f"cont_{i}",
        status_type=status,
        value=100_000 + i if value is None else value,
        date_created="2026-03-03T10:00:00+00:00",
        date_updated="2026-03-07T16:00:00+00:00",
    )
    return close.parse_opportunity(obj), obj


def page():
    """Forms (one repeated, one with an email seen before), Close leads with a person
    already known from a form, and their opportunities."""
    forms = [form(i) for i in range(6)]
    forms.append(form(2))  # the same response twice in one page
    forms.append(form(91, email="lead1@example.com", utm="meta"))
    leads = [lead(i) for i in range(4)] + [lead(50, email="lead3@example.com", status="Won")]
    opportunities = [opportunity(i, status="won" if i % 2 else "active") for i in range(4)]
    return forms, leads, opportunities


def snapshot(org):
    def who(member):
        return member.email.split("@")[0] if member else None

    contacts = sorted(
        (c.primary_email, c.first_name, c.last_name, c.lead_status, c.original_source)
        for c in Contact.objects.for_org(org).filter(merged_into__isnull=True)
    )
    touchpoints = sorted(
        (t.contact.primary_email, t.utm_source, t.occurred_at, t.source_record.external_id)
        for t in Touchpoint.objects.for_org(org).select_related("contact", "source_record")
    )
    sources = sorted(
        (s.provider, s.object_type, s.external_id, s.contact.primary_email if s.contact else None)
        for s in SourceRecord.objects.for_org(org).select_related("contact")
    )
    deals = sorted(
        (
            d.external_id,
            d.contact.primary_email,
            d.status,
            d.value,
            d.closed_at,
            who(d.closer),
            who(d.setter),
        )
        for d in Deal.objects.for_org(org).select_related("contact", "closer", "setter")
    )
    return contacts, touchpoints, sources, deals


def link_close_user(team):
    team.closer_member.external_ids = {"close": "user_dana_closer"}
    team.closer_member.save()


@pytest.mark.django_db
def test_a_page_gives_the_rows_and_outcomes_of_one_record_at_a_time(team_a, team_b):
    for team in (team_a, team_b):
        link_close_user(team)
    batches = page()

    paged = [ingest_records(org=team_a.org, items=batch, via="sync") for batch in batches]
    single = [
        [ingest_record(org=team_b.org, record=r, raw=raw, via="webhook") for r, raw in batch]
        for batch in batches
    ]

    assert paged == single
    forms = paged[0]
    assert forms[6] is Outcome.UNCHANGED  # the repeat
    assert snapshot(team_a.org) == snapshot(team_b.org)
    _, touchpoints, _, deals = snapshot(team_a.org)
    assert len(touchpoints) == 7  # six responses and the re-seen lead's second one
    assert [d[5] for d in deals] == ["closer"] * 4  # the Close owner, through the roster


@pytest.mark.django_db
def test_the_same_page_again_changes_nothing(team_a):
    batches = page()
    for batch in batches:
        ingest_records(org=team_a.org, items=batch, via="sync")
    before = snapshot(team_a.org)

    again = [ingest_records(org=team_a.org, items=batch, via="sync") for batch in page()]

    assert {o for outcomes in again for o in outcomes} == {Outcome.UNCHANGED}
    assert snapshot(team_a.org) == before


@pytest.mark.django_db
def test_a_refused_record_fails_alone_and_writes_nothing(team_a):
    org = team_a.org
    items = [opportunity(i) for i in range(3)]
    items[1] = opportunity(1, value=10**20)  # cents: more than a deal's 12 digits hold

    outcomes = ingest_records(org=org, items=items, via="sync")

    assert outcomes[0] is Outcome.CREATED and outcomes[2] is Outcome.CREATED
    assert isinstance(outcomes[1], ValidationError)
    assert sorted(Deal.objects.for_org(org).values_list("external_id", flat=True)) == [
        "oppo_0",
        "oppo_2",
    ]
    assert not SourceRecord.objects.for_org(org).filter(external_id="oppo_1").exists()


def _queries(org, items) -> int:
    with CaptureQueriesContext(connection) as captured:
        ingest_records(org=org, items=items, via="sync")
    return len(captured)


@pytest.mark.django_db
def test_queries_per_page_do_not_grow_with_the_page(team_a, team_b):
    link_close_user(team_a)
    link_close_user(team_b)
    small = _queries(team_a.org, [form(i) for i in range(3)])
    large = _queries(team_b.org, [form(i) for i in range(40)])
    assert large <= small + 2, (small, large)

    small = _queries(team_a.org, [lead(i) for i in range(3)])
    large = _queries(team_b.org, [lead(i) for i in range(40)])
    assert large <= small + 2, (small, large)

    small = _queries(team_a.org, [opportunity(i) for i in range(3)])
    large = _queries(team_b.org, [opportunity(i) for i in range(40)])
    assert large <= small + 2, (small, large)


@pytest.mark.django_db
def test_deals_written_in_bulk_reach_the_rollups(team_a, django_capture_on_commit_callbacks):
    """Bulk writes send no post_save: the won deals of a page must still reach the KPIs."""
    org = team_a.org
    start, end = date(2026, 3, 1), date(2026, 3, 31)
    ingest_records(org=org, items=[lead(i) for i in range(4)], via="sync")
    rollup_rebuild(org=org)

    with django_capture_on_commit_callbacks(execute=True):
        ingest_records(org=org, items=[opportunity(i) for i in range(4)], via="sync")

    assert Deal.objects.for_org(org).filter(status=Deal.Status.WON).count() == 4
    assert rollup_check(org=org, start=start, end=end) == []
