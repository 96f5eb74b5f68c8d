"""Reads, analytics, the status PATCH, throttles and ETags."""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest

from apps.api.services import ConversionInput, conversion_record
from apps.contacts.models import Identifier
from apps.kpis.selectors import kpi_summary, month_bounds
from tests.apps.api.helpers import Api, personal_key, workspace, workspace_key
from tests.factories import ContactFactory


@pytest.fixture
def api(team_a):
    ws = workspace(team_a)
    _, raw = workspace_key(team_a, ws=ws)
    client = Api(raw)
    client.ws = ws
    return client


def _log(team, ws, contact, value, at, kind="sale", currency="USD"):
    return conversion_record(
        org=team.org,
        workspace=ws,
        data=ConversionInput(
            contact_id=contact.pk, conversion_type=kind, conversion_value=value,
            converted_at=at, currency=currency,
        ),
    )[0]  # fmt: skip


@pytest.mark.django_db
def test_analytics_add_up_by_workspace_type_and_period(api, team_a):
    lead = ContactFactory(org=team_a.org, first_seen_at=datetime(2026, 3, 2, tzinfo=UTC))
    ContactFactory(org=team_a.org, first_seen_at=datetime(2026, 3, 3, tzinfo=UTC))
    other = workspace(team_a, name="Call Centre")
    _log(team_a, api.ws, lead, 100, datetime(2026, 3, 2, 10, tzinfo=UTC))
    _log(team_a, api.ws, lead, 50, datetime(2026, 3, 10, 10, tzinfo=UTC), kind="upsell")
    _log(team_a, other, ContactFactory(org=team_a.org), 7, datetime(2026, 4, 1, tzinfo=UTC))
    _, manager_key = personal_key(team_a, team_a.manager)
    body = (
        Api(manager_key)
        .get("/api/v1/conversions/analytics", {"from": "2026-03-01", "to": "2026-03-31"})
        .json()
    )
    assert body["summary"] == {
        "conversions": 2, "value": {"USD": "150.00"}, "leads": 2,
        "converted_contacts": 1, "conversion_rate": 0.5,
    }  # fmt: skip
    assert body["by_workspace"] == [
        {"workspace_id": "partner-sales", "conversions": 2, "value": {"USD": "150.00"}}
    ]
    assert [t["conversion_type"] for t in body["by_type"]] == ["sale", "upsell"] or [
        t["conversion_type"] for t in body["by_type"]
    ] == ["upsell", "sale"]
    daily = {p["period"]: p["conversions"] for p in body["trends"]["daily"]}
    assert len(daily) == 31 and daily["2026-03-02"] == 1 and daily["2026-03-10"] == 1
    assert body["trends"]["monthly"] == [
        {"period": "2026-03-01", "conversions": 2, "value": {"USD": "150.00"}}
    ]
    assert sum(p["conversions"] for p in body["trends"]["weekly"]) == 2
    # A workspace's own key sees its workspace only.
    mine = api.get("/api/v1/conversions/analytics", {"from": "2026-04-01", "to": "2026-04-30"})
    assert mine.json()["summary"]["conversions"] == 0
    assert (
        api.get(
            "/api/v1/conversions/analytics", {"from": "2026-03-31", "to": "2026-03-01"}
        ).status_code
        == 400
    )
    assert (
        api.get(
            "/api/v1/conversions/analytics", {"from": "2020-01-01", "to": "2026-03-01"}
        ).status_code
        == 400
    )


@pytest.mark.django_db
def test_the_list_filters_and_pages_with_cursors(api, team_a):
    contact = ContactFactory(org=team_a.org)
    rows = [
        _log(team_a, api.ws, contact, v, datetime(2026, 3, 1 + v, tzinfo=UTC)) for v in range(5)
    ]
    page = api.get("/api/v1/conversions", {"limit": 2}).json()
    assert [r["id"] for r in page["results"]] == [rows[4].pk, rows[3].pk]
    cursor = parse_qs(urlparse(page["next"]).query)["cursor"][0]
    second = api.get("/api/v1/conversions", {"limit": 2, "cursor": cursor}).json()
    assert [r["id"] for r in second["results"]] == [rows[2].pk, rows[1].pk]
    ids = lambda q: [r["id"] for r in api.get("/api/v1/conversions", q).json()["results"]]  # noqa: E731
    assert ids({"min_value": 2, "max_value": 3}) == [rows[3].pk, rows[2].pk]
    assert ids({"from": "2026-03-04", "to": "2026-03-04"}) == [rows[3].pk]
    assert ids({"type": "upsell"}) == []
    assert ids({"contact": contact.pk, "workspace": "partner-sales"}) == [r.pk for r in rows[::-1]]
    bad = api.get("/api/v1/conversions", {"from": "04/03/2026", "min_value": -1, "limit": 0})
    assert bad.status_code == 400
    assert {"from", "min_value"} <= set(bad.json()["error"]["fields"])


@pytest.mark.django_db
def test_patch_merges_metadata_as_documented(api, team_a):
    contact = ContactFactory(org=team_a.org)
    url = f"/api/v1/contacts/{contact.pk}/conversion"
    first = api.patch(url, {"status": "in_progress", "sent_from_workspace_id": "partner-sales",
                            "metadata": {"a": 1, "nested": {"x": 1, "y": 2}, "gone": True}})  # fmt: skip
    assert first.status_code == 200, first.content
    second = api.patch(url, {"metadata": {"nested": {"y": None, "z": 3}, "gone": None, "b": [1]}})
    body = second.json()
    assert body["metadata"] == {"a": 1, "nested": {"x": 1, "z": 3}, "b": [1]}
    assert body["status"] == "in_progress" and body["sent_from_workspace_id"] == "partner-sales"
    bad = api.patch(url, {"status": "won", "converted_from_workspace_id": "nope"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]
    unknown = api.patch(url, {"converted_from_workspace_id": "nope"})
    assert unknown.status_code == 400
    assert "converted_from_workspace_id" in unknown.json()["error"]["fields"]
    assert (
        api.get(f"/api/v1/contacts/{contact.pk}").json()["conversion"]["metadata"]
        == body["metadata"]
    )


@pytest.mark.django_db
def test_contacts_come_with_identifiers_and_kpis_match_summary_json(api, team_a):
    contact = ContactFactory(org=team_a.org)
    Identifier.objects.create(org=team_a.org, contact=contact, kind="email", value="a@b.co")
    body = api.get(f"/api/v1/contacts/{contact.pk}").json()
    assert body["identifiers"][0]["value"] == "a@b.co"
    start, end = month_bounds(datetime.now(UTC).date())
    assert api.get("/api/v1/kpis/summary").json() == kpi_summary(
        org=team_a.org, start=start, end=end
    )


@pytest.mark.django_db
def test_reads_carry_an_etag_and_answer_304_when_unchanged(api):
    first = api.get("/api/v1/contacts")
    etag = first["ETag"]
    again = api.get("/api/v1/contacts", **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.django_db
def test_a_key_over_its_rate_gets_429_with_retry_after(api, settings):
    from django.core.cache import cache

    cache.clear()
    settings.API_THROTTLE_KEY_RATE = "3/m"
    statuses = [api.get("/api/v1/contacts").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api.get("/api/v1/contacts")
    assert response.json()["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
