"""Traffic types and the Close lead-source field: stored beside the UTM source, dashboard filters
and columns of its sources table, edited on a settings page.

March 2026. Types: Paid (facebook, instagram), Warm (referral). Leads: two from facebook, one
from google whose Close lead source is "Referral", one from google without one. Ad spend:
facebook 300, google 100. So Paid: 2 leads, spend 300, CPL 150.00; Warm: 1 lead (by its lead
source), spend 0; lead source "referral": 1 lead and no ad spend value (spend is per UTM source).
"""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.contacts.models import Contact
from apps.integrations.ingest import ingest_record, parse_payload
from apps.kpis.models import AdSpend, TrafficType
from apps.kpis.selectors import Filters, base_counts
from apps.kpis.services import rollup_rebuild
from apps.orgs.models import AuditLog
from tests.apps.csv_read import csv_rows
from tests.attribution.sources.conftest import load_fixture
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}
START, END = date(2026, 3, 1), date(2026, 3, 31)
REFERRED = "referred.lead@gmail.com"


def close_lead(org, *, lead_id: str, email: str, lead_source):
    envelope = load_fixture("close/contact.created")
    person = envelope["event"]["data"]
    person.update(id=f"cont_{lead_id}", lead_id=lead_id, emails=[{"email": email, "type": "office"}],
                  phones=[])  # fmt: skip
    envelope["event"].update(
        id=f"ev_{lead_id}",
        date_created="2026-03-06T16:00:00.000000",  # after the contact's first touch
        object_type="lead",
        action="created",
        lead_id=lead_id,
        data={
            "id": lead_id,
            "display_name": "Lead Co",
            "status_label": "Potential",
            "date_created": "2026-03-05T16:00:00.000000+00:00",
            "date_updated": "2026-03-05T16:00:00.000000+00:00",
            "contacts": [person],
            "custom.cf_lead_source": lead_source,
        },
    )
    ingest_record(org=org, record=parse_payload(org=org, provider="close", envelope=envelope),
                  via="webhook")  # fmt: skip
    return Contact.objects.for_org(org).get(primary_email=email)


def typeform_lead(org, *, email: str, utm_source: str) -> Contact:
    """A form answered on 5 March with ``utm_source`` in its hidden fields, through ingestion."""
    envelope = load_fixture("typeform/form_response")
    response = envelope["form_response"]
    response["landed_at"] = response["submitted_at"] = "2026-03-05T12:00:00Z"
    response["hidden"] = {"utm_source": utm_source}
    for answer in response["answers"]:
        if answer["type"] == "email":
            answer["email"] = email
        if answer["type"] == "phone_number":
            answer["phone_number"] = "+14155559876"
    record = parse_payload(org=org, provider="typeform", envelope=envelope)
    ingest_record(org=org, record=record, via="webhook")
    return Contact.objects.for_org(org).get(primary_email=email)


@pytest.fixture
def marketing(team_a):
    org = team_a.org
    org.settings = {**org.settings, "close_lead_source_field": "custom.cf_lead_source"}
    org.save()
    TrafficType.objects.create(org=org, name="Paid", sources=["facebook", "instagram"], position=1)
    TrafficType.objects.create(org=org, name="Warm", sources=["referral"], position=2)
    seen = {"first_seen_at": "2026-03-05T12:00:00Z"}
    ContactFactory(org=org, original_source="facebook", **seen)
    ContactFactory(org=org, original_source="facebook", **seen)
    referred = typeform_lead(org, email=REFERRED, utm_source="google")
    ContactFactory(org=org, original_source="google", **seen)
    assert close_lead(org, lead_id="lead_ref", email=REFERRED, lead_source="Referral") == referred
    for source, amount in (("facebook", "300"), ("google", "100")):
        AdSpend.objects.create(org=org, date=date(2026, 3, 2), source=source, amount=Decimal(amount),
                               currency=org.currency)  # fmt: skip
    rollup_rebuild(org=org)
    return org


def test_the_close_lead_source_is_kept_beside_the_utm_source(team_a, marketing):
    referred = Contact.objects.for_org(marketing).get(primary_email=REFERRED)
    assert (referred.original_source, referred.crm_lead_source) == ("google", "referral")


def test_without_the_setting_no_field_is_read(team_a):
    contact = close_lead(
        team_a.org, lead_id="lead_x", email="x.lead@gmail.com", lead_source="Referral"
    )
    assert contact.crm_lead_source == ""


def test_filters_count_the_right_leads_and_spend(team_a, marketing):
    def base(**filters):
        return base_counts(org=marketing, start=START, end=END, filters=Filters(**filters))[()]

    assert (base()["leads"], base()["ad_spend"]) == (4, Decimal("400.00"))
    paid = base(traffic_type="Paid")
    assert (paid["leads"], paid["ad_spend"]) == (2, Decimal("300.00"))
    warm = base(traffic_type="Warm")
    assert (warm["leads"], warm["ad_spend"]) == (1, Decimal("0.00"))
    referral = base(lead_source="referral")
    assert (referral["leads"], referral["ad_spend"]) == (1, None)


def test_the_sources_table_has_lead_source_and_traffic_type_columns(client, team_a, marketing):
    client.force_login(team_a.manager)
    rows = csv_rows(
        client.get(reverse("kpis:dashboard"), {**MARCH, "format": "csv", "table": "sources"})
    )
    assert rows[0][:6] == ["Source", "Lead source (CRM)", "Traffic type", "Campaign", "Leads",
                           "Ad spend ($)"]  # fmt: skip
    by_key = {(r[0], r[1]): r for r in rows[1:]}
    assert by_key[("facebook", "(none)")][2:5] == ["Paid", "(none)", "2"]
    assert by_key[("google", "referral")][2:5] == ["Warm", "(none)", "1"]
    assert by_key[("google", "(none)")][2:5] == ["(none)", "(none)", "1"]


def test_the_dashboard_filters_by_traffic_type_and_lead_source(client, team_a, marketing):
    client.force_login(team_a.manager)
    page = client.get(reverse("kpis:dashboard"), MARCH).content.decode()
    assert 'name="traffic_type"' in page and 'name="lead_source"' in page
    assert "<option >referral</option>" in page or ">referral</option>" in page
    rows = csv_rows(client.get(reverse("kpis:dashboard"),
                               {**MARCH, "traffic_type": "Paid", "format": "csv", "table": "sources"}))  # fmt: skip
    assert [(r[0], r[4]) for r in rows[1:]] == [("facebook", "2")]
    rows = csv_rows(client.get(reverse("kpis:dashboard"),
                               {**MARCH, "lead_source": "referral", "format": "csv", "table": "sources"}))  # fmt: skip
    assert [(r[0], r[1], r[4], r[5]) for r in rows[1:]] == [("google", "referral", "1", "—")]


def test_an_admin_adds_and_deletes_a_traffic_type(client, team_a, marketing):
    client.force_login(team_a.admin)
    url = reverse("kpis:traffic_types")
    response = client.post(url, {"name": "  Cold  outbound ", "sources": "Cold Email, LinkedIn\nlinkedin",
                                 "position": 3})  # fmt: skip
    assert response.status_code == 302
    cold = TrafficType.objects.for_org(marketing).get(name="Cold outbound")
    assert cold.sources == ["cold email", "linkedin"]
    assert AuditLog.objects.for_org(marketing).filter(action="traffic_type.save").exists()
    again = client.post(url, {"name": "Cold outbound", "sources": "", "position": 1})
    assert again.status_code == 200 and "already exists" in again.content.decode()
    delete = reverse("kpis:traffic_type_delete", args=[cold.pk])
    assert client.get(delete).status_code == 405
    assert client.post(delete).status_code == 302
    assert not TrafficType.objects.filter(pk=cold.pk).exists()


def test_managers_and_reps_may_not_edit_and_outsiders_get_404(client, team_a, team_b, marketing):
    paid = TrafficType.objects.for_org(marketing).get(name="Paid")
    for user in (team_a.manager, team_a.closer, team_a.viewer):
        client.force_login(user)
        assert client.get(reverse("kpis:traffic_types")).status_code == 403
        assert client.post(reverse("kpis:traffic_type_delete", args=[paid.pk])).status_code == 403
    client.force_login(team_b.owner)
    page = client.get(reverse("kpis:traffic_types")).content.decode()
    assert "Paid" not in page
    assert client.post(reverse("kpis:traffic_type_delete", args=[paid.pk])).status_code == 404
    assert TrafficType.objects.filter(pk=paid.pk).exists()
    rows = csv_rows(client.get(reverse("meetings:exports"), {"table": "traffic_types"}))
    assert rows == [["Position", "Name", "Sources"]]
