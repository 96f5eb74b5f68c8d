"""The calls page: its filters, their HTMX partial, and the calls and PCF downloads.

Closer A is ``team_a.closer_member``, closer B ``team_a.other_closer_member``; org B's rows are
what nobody in org A may see.
"""

from datetime import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.meetings.models import CallType, Meeting, PostCallFormConfig
from tests.apps.csv_read import csv_rows
from tests.factories import ContactFactory, MeetingFactory, PostCallFormFactory

pytestmark = pytest.mark.django_db
CALLS = reverse("meetings:list")


def _at(org, day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=org.tzinfo)


@pytest.fixture
def calls(team_a, team_b):
    """Four calls of org A in March 2026 and one of org B."""
    org, a, b, setter = (
        team_a.org,
        team_a.closer_member,
        team_a.other_closer_member,
        team_a.setter_member,
    )
    PostCallFormConfig.objects.create(
        org=org,
        outcomes=["Closed", "Follow-up"],
        custom_fields=[
            {"key": "objection", "label": "Main objection", "type": "text"},
            {"key": "budget", "label": "Budget", "type": "money"},
        ],
    )

    def call(name, day, closer, *, source="facebook", call_type=CallType.SOLUTION, **extra):
        contact = ContactFactory(org=org, first_name=name, last_name="Lead", original_source=source)
        return MeetingFactory(
            org=org,
            contact=contact,
            closer=closer,
            setter=setter if call_type == CallType.TRIAGE else None,
            host=closer,
            call_type=call_type,
            scheduled_at=_at(org, day),
            **extra,
        )

    rows = {
        "a_closed": call("Alpha", 3, a),
        "a_missing": call("Bravo", 10, a, source="google"),
        "b_followup": call("Charlie", 17, b),
        "triage": call("Delta", 24, None, call_type=CallType.TRIAGE, source="google"),
        "canceled": call("Echo", 25, a, status=Meeting.Status.CANCELED),
    }
    PostCallFormFactory(
        meeting=rows["a_closed"],
        outcome="Closed",
        deal_closed=True,
        cash_collected=Decimal("500"),
        custom={"objection": '=HYPERLINK("x")', "budget": "9000"},
    )
    PostCallFormFactory(meeting=rows["b_followup"], outcome="Follow-up", custom={})
    other = team_b.org
    rows["org_b"] = MeetingFactory(
        org=other,
        contact=ContactFactory(org=other, first_name="Foreign"),
        scheduled_at=_at(other, 5),
    )
    return rows


def _names(response) -> set[str]:
    body = response.content.decode()
    return {n for n in ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foreign") if n in body}


def test_each_filter_narrows_the_list(client, team_a, calls):
    client.force_login(team_a.manager)
    a, b = team_a.closer_member, team_a.other_closer_member
    cases = [
        ({}, {"Alpha", "Bravo", "Charlie", "Delta", "Echo"}),
        ({"start": "2026-03-01", "end": "2026-03-10"}, {"Alpha", "Bravo"}),
        ({"closer": a.pk}, {"Alpha", "Bravo", "Echo"}),
        ({"closer": b.pk}, {"Charlie"}),
        ({"setter": team_a.setter_member.pk}, {"Delta"}),
        ({"outcome": "closed"}, {"Alpha"}),
        ({"type": "triage"}, {"Delta"}),
        ({"status": "canceled"}, {"Echo"}),
        ({"source": " Google "}, {"Bravo", "Delta"}),
        ({"pcf": "filed"}, {"Alpha", "Charlie"}),
        ({"pcf": "missing"}, {"Bravo", "Delta"}),  # the cancelled call owes no form
        ({"closer": a.pk, "pcf": "missing", "source": "google"}, {"Bravo"}),
    ]
    for params, expected in cases:
        assert _names(client.get(CALLS, params)) == expected, params


def test_a_bad_filter_is_reported_and_the_rest_still_apply(client, team_a, calls):
    client.force_login(team_a.manager)
    response = client.get(CALLS, {"start": "2026-03-20", "end": "2026-03-01", "type": "triage"})
    assert response.status_code == 200
    assert "The end is before the start." in response.content.decode()
    assert _names(response) == {"Delta"}


def test_htmx_gets_the_results_partial_only(client, team_a, calls):
    client.force_login(team_a.manager)
    response = client.get(CALLS, {"type": "triage"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="call-results">')
    assert "<form" not in body and "Delta" in body
    assert "HX-Request" in response["Vary"]


def test_a_closer_sees_and_downloads_only_their_own_calls(client, team_a, calls):
    client.force_login(team_a.closer)
    assert _names(client.get(CALLS)) == {"Alpha", "Bravo", "Echo"}
    # Asking for closer B's calls does not widen what a closer sees.
    other = team_a.other_closer_member.pk
    assert _names(client.get(CALLS, {"closer": other})) == set()
    rows = csv_rows(client.get(CALLS, {"format": "csv", "table": "calls"}))
    assert {row[5] for row in rows[1:]} == {"Alpha Lead", "Bravo Lead", "Echo Lead"}
    pcfs = csv_rows(client.get(CALLS, {"format": "csv", "table": "pcfs"}))
    assert [row[3] for row in pcfs[1:]] == ["Alpha Lead"]


def test_a_setter_sees_only_the_calls_they_set(client, team_a, calls):
    client.force_login(team_a.setter)
    assert _names(client.get(CALLS)) == {"Delta"}


def test_the_calls_csv_follows_the_filters_and_neutralises_formulas(client, team_a, calls):
    client.force_login(team_a.manager)
    response = client.get(CALLS, {"format": "csv", "table": "calls", "source": "google"})
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert rows[0][:6] == ["Call id", "Scheduled at", "Type", "Status", "Showed", "Contact"]
    assert [(r[5], r[2], r[9], r[12]) for r in rows[1:]] == [
        ("Delta Lead", "triage", "google", "no"),
        ("Bravo Lead", "solution", "google", "no"),
    ]
    assert rows[1][1] == "2026-03-24T12:00:00+00:00"  # the org's zone


def test_the_pcf_csv_has_a_column_per_custom_field(client, team_a, calls):
    client.force_login(team_a.manager)
    rows = csv_rows(client.get(CALLS, {"format": "csv", "table": "pcfs"}))
    header = rows[0]
    assert header[-2:] == ["Main objection", "Budget"]
    by_contact = {row[3]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert set(by_contact) == {"Alpha Lead", "Charlie Lead"}
    alpha = by_contact["Alpha Lead"]
    assert alpha["Main objection"] == '\'=HYPERLINK("x")'  # a formula arrives as text
    assert alpha["Budget"] == "9000"
    assert alpha["Cash collected"] == "500.00" and alpha["Outcome"] == "Closed"
    assert by_contact["Charlie Lead"]["Main objection"] == ""


def test_a_viewer_lists_calls_but_may_not_download_pcfs(client, team_a, calls):
    client.force_login(team_a.viewer)
    response = client.get(CALLS)
    assert response.status_code == 200
    assert "table=pcfs" not in response.content.decode()
    assert client.get(CALLS, {"format": "csv", "table": "pcfs"}).status_code == 403
    assert client.get(CALLS, {"format": "csv", "table": "nope"}).status_code == 404


def test_an_outsider_never_sees_org_a_calls_in_the_list_or_csv(client, team_b, calls):
    client.force_login(team_b.manager)
    assert _names(client.get(CALLS)) == {"Foreign"}
    rows = csv_rows(client.get(CALLS, {"format": "csv", "table": "calls"}))
    assert len(rows) == 2 and rows[1][5].startswith("Foreign")
    # Org A's closer as a filter is no choice in org B: dropped, nothing of org A appears.
    response = client.get(CALLS, {"closer": calls["a_closed"].closer_id})
    assert "Select a valid choice" in response.content.decode()
    assert _names(response) == {"Foreign"}


def test_the_calls_page_only_answers_get(client, team_a):
    client.force_login(team_a.manager)
    assert client.post(CALLS).status_code == 405
