"""POST /api/v1/conversions: logging, replays, the touchpoint, and bad input (acceptance 4)."""

import json
from decimal import Decimal

import pytest

from apps.api.models import Activity, ContactConversion, Conversion, ConversionRollup
from apps.contacts.models import Contact, Touchpoint
from apps.contacts.services import contact_resolve
from tests.apps.api.helpers import Api, workspace_key
from tests.apps.contacts.helpers import person
from tests.factories import ContactFactory

URL = "/api/v1/conversions"


@pytest.fixture
def api(team_a):
    key, raw = workspace_key(team_a)
    client = Api(raw)
    client.key = key
    return client


def _rows():
    return (
        Conversion.objects.count(),
        Touchpoint.objects.count(),
        Contact.objects.count(),
        ConversionRollup.objects.count(),
        Activity.objects.count(),
        ContactConversion.objects.count(),
    )


@pytest.mark.django_db
def test_it_logs_a_conversion_for_a_contact_and_makes_it_a_touchpoint(api, team_a):
    contact = ContactFactory(org=team_a.org)
    response = api.post(
        URL,
        {
            "contact_id": contact.pk,
            "conversion_type": "sale",
            "conversion_value": 1500,
            "converted_at": "2026-11-02T10:00:00Z",
            "custom_data": {"plan": "gold"},
            "converted_by": "Dana at Partner",
            "lead_id": "L-9",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["contact_id"] == contact.pk
    assert body["workspace_id"] == "partner-sales"
    assert body["conversion_value"] == "1500.00"
    assert body["currency"] == "USD"
    assert body["custom_data"] == {"plan": "gold"}
    conversion = Conversion.objects.get(pk=body["id"])
    touchpoint = conversion.touchpoint
    assert touchpoint.kind == "conversion" and touchpoint.contact == contact
    assert touchpoint.occurred_at.isoformat() == "2026-11-02T10:00:00+00:00"
    status = ContactConversion.objects.get(contact=contact)
    assert status.status == "converted" and status.converted_from == conversion.workspace
    rollup = ConversionRollup.objects.get()
    assert (rollup.count, rollup.value) == (1, Decimal("1500.00"))
    assert Activity.objects.get().action == "conversion.create"


@pytest.mark.django_db
def test_an_email_is_resolved_to_the_contact_who_has_it(api, team_a):
    contact = contact_resolve(
        org=team_a.org, observation=person(email="ana@brightside.co", first="Ana", last="Reyes")
    ).contact
    response = api.post(
        URL, {"email": "Ana@Brightside.co", "conversion_type": "sale", "conversion_value": 10}
    )
    assert response.status_code == 201
    assert response.json()["contact_id"] == contact.pk
    response = api.post(
        URL,
        {"email": "new.person@brightside.co", "conversion_type": "sale", "conversion_value": 10},
    )
    assert response.status_code == 201
    new = Contact.objects.get(pk=response.json()["contact_id"])
    assert new.primary_email == "new.person@brightside.co"


@pytest.mark.django_db
@pytest.mark.parametrize("header", [True, False])
def test_a_replay_answers_200_with_the_same_body_and_writes_nothing(api, team_a, header):
    contact = ContactFactory(org=team_a.org)
    body = {"contact_id": contact.pk, "conversion_type": "sale", "conversion_value": 5}
    headers = {"Idempotency-Key": "abc-1"} if header else {}
    if not header:
        body["external_id"] = "crm-77"
    first = api.post(URL, body, **headers)
    assert first.status_code == 201
    before = _rows()
    second = api.post(URL, body, **headers)
    assert second.status_code == 200
    assert second.json() == first.json()
    assert _rows() == before
    changed = api.post(URL, {**body, "conversion_value": 6}, **headers)
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "idempotency_conflict"
    assert _rows() == before


def _bad_cases(team_a, team_b):
    contact = ContactFactory(org=team_a.org)
    foreign = ContactFactory(org=team_b.org)
    ok = {"contact_id": contact.pk, "conversion_type": "sale", "conversion_value": 5}
    big = {"blob": "x" * 9000}
    return [
        ({**ok, "contact_id": 999999999}, "contact_id"),
        ({**ok, "contact_id": foreign.pk}, "contact_id"),
        ({**ok, "contact_id": str(contact.pk)}, "contact_id"),
        ({**ok, "conversion_value": "5"}, "conversion_value"),
        ({**ok, "conversion_value": -1}, "conversion_value"),
        ({**ok, "custom_data": big}, "custom_data"),
        ({**ok, "custom_data": [1, 2]}, "custom_data"),
        ({**ok, "converted_at": "02/11/2026"}, "converted_at"),
        ({**ok, "converted_at": "yesterday"}, "converted_at"),
        ({**ok, "currency": "DOL"}, "currency"),
        ({**ok, "conversion_type": "Big Sale!"}, "conversion_type"),
        ({k: v for k, v in ok.items() if k != "conversion_type"}, "conversion_type"),
        ({"conversion_type": "sale", "conversion_value": 5}, "contact_id"),
        ({**ok, "email": "a@b.example"}, "contact_id"),
        ({**ok, "workspace_id": "someone-else"}, "workspace_id"),
        ({**ok, "email": "not-an-email"}, "email"),
    ]


@pytest.mark.django_db
def test_bad_input_gets_400_with_field_errors_and_writes_nothing(api, team_a, team_b):
    for body, field in _bad_cases(team_a, team_b):
        before = _rows()
        response = api.post(URL, body)
        assert response.status_code == 400, (body, response.content)
        error = response.json()["error"]
        assert error["code"] == "invalid_request"
        assert field in error["fields"], (body, error)
        assert _rows() == before, body


@pytest.mark.django_db
def test_malformed_json_and_other_media_types_are_refused(api):
    response = api.client.post(URL, "{nope", content_type="application/json", headers=api.headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    response = api.client.post(URL, "a=b", content_type="text/plain", headers=api.headers)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.django_db
def test_a_body_over_the_limit_is_413(api, team_a):
    body = json.dumps({"conversion_type": "sale", "custom_data": {"x": "y" * 70000}})
    response = api.client.post(URL, body, content_type="application/json", headers=api.headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert Conversion.objects.count() == 0
