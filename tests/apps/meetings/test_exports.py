"""The exports page: contacts and configuration tables as streamed, formula-safe CSVs."""

import pytest
from django.urls import reverse

from apps.meetings.models import CallTypeRule, PostCallFormConfig
from tests.apps.csv_read import csv_rows
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
EXPORTS = reverse("meetings:exports")


@pytest.fixture
def org_a_config(team_a, team_b):
    org = team_a.org
    ContactFactory(org=org, first_name="Ada", last_name="Lead", original_source="=cmd")
    ContactFactory(org=org, first_name="Gone", last_name="Erased", erased_at="2026-01-01T00:00Z")
    CallTypeRule.objects.create(org=org, name_pattern="strategy", call_type="solution")
    PostCallFormConfig.objects.create(
        org=org,
        outcomes=["Closed", "-Lost"],
        custom_fields=[{"key": "objection", "label": "Objection", "type": "select",
                        "choices": ["price", "time"]}],
    )  # fmt: skip
    ContactFactory(org=team_b.org, first_name="Foreign", last_name="Lead")


def test_the_page_lists_every_table(client, team_a, org_a_config):
    client.force_login(team_a.manager)
    body = client.get(EXPORTS).content.decode()
    for table in ("contacts", "team", "call_types", "pcf_fields", "pcf_outcomes"):
        assert f"table={table}" in body


def test_contacts_stream_without_erased_people(client, team_a, org_a_config):
    client.force_login(team_a.manager)
    response = client.get(EXPORTS, {"table": "contacts"})
    assert response.streaming
    rows = csv_rows(response)
    assert rows[0][:3] == ["Contact id", "First name", "Last name"]
    assert [(r[1], r[7]) for r in rows[1:]] == [("Ada", "'=cmd")]


def test_configuration_tables(client, team_a, org_a_config):
    client.force_login(team_a.manager)
    team = csv_rows(client.get(EXPORTS, {"table": "team"}))
    assert {r[0] for r in team[1:]} == {"org-a closer", "org-a setter", "org-a other closer"}
    assert csv_rows(client.get(EXPORTS, {"table": "call_types"}))[1] == [
        "100", "", "strategy", "solution",
    ]  # fmt: skip
    assert csv_rows(client.get(EXPORTS, {"table": "pcf_fields"}))[1] == [
        "objection", "Objection", "select", "no", "price; time",
    ]  # fmt: skip
    assert csv_rows(client.get(EXPORTS, {"table": "pcf_outcomes"}))[1:] == [["Closed"], ["'-Lost"]]
    assert client.get(EXPORTS, {"table": "secrets"}).status_code == 404


def test_every_download_is_audited(client, team_a, org_a_config):
    from apps.orgs.models import AuditLog

    client.force_login(team_a.manager)
    response = client.get(EXPORTS, {"table": "team"})
    b"".join(response.streaming_content)
    row = AuditLog.objects.for_org(team_a.org).get(action="export.csv")
    assert row.data["filename"].startswith("team-")


def test_reps_and_viewers_may_not_export(client, team_a, org_a_config):
    for user in (team_a.closer, team_a.setter, team_a.viewer):
        client.force_login(user)
        assert client.get(EXPORTS).status_code == 403
        assert client.get(EXPORTS, {"table": "contacts"}).status_code == 403


def test_another_orgs_manager_exports_only_their_own(client, team_b, org_a_config):
    client.force_login(team_b.manager)
    contacts = csv_rows(client.get(EXPORTS, {"table": "contacts"}))
    assert [r[1] for r in contacts[1:]] == ["Foreign"]
    team = csv_rows(client.get(EXPORTS, {"table": "team"}))
    assert all(r[0].startswith("org-b") for r in team[1:])
    assert len(csv_rows(client.get(EXPORTS, {"table": "call_types"}))) == 1
    assert csv_rows(client.get(EXPORTS, {"table": "pcf_outcomes"})) == [["Outcome"]]
