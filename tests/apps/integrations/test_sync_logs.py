"""A sync's log lines (issue 25): every one carries its task's id, its org and provider, no person."""

from __future__ import annotations

import pytest
import responses

from apps.integrations import sync_tasks
from apps.integrations.models import SyncRun
from apps.integrations.providers.calendly.client import CalendlyClient
from apps.integrations.services import credential_set
from tests.apps.integrations.test_sync import TOKEN, FakeCalendly
from tests.apps.integrations.test_webhook_logs import personal_values
from tests.apps.log_capture import json_log_lines, parsed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def unpaced(monkeypatch):
    monkeypatch.setattr(CalendlyClient, "rate_per_second", 1e9)


def test_a_sync_runs_lines_carry_its_task_id_and_no_person(team_a):
    org = team_a.org
    credential_set(org=org, provider="calendly", name="api_token", value=TOKEN, actor=None)
    fake = FakeCalendly(30)
    with json_log_lines() as lines, responses.RequestsMock() as rsps:
        fake.install(rsps)
        result = sync_tasks.sync_provider_task.apply(args=(org.pk, "calendly"))
    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.SUCCEEDED and result.result == run.pk
    records = parsed(lines)
    own = [r for r in records if r["message"].startswith(f"sync run {run.pk} ")]
    assert [r["message"].split()[5] for r in own] == ["started", "succeeded"]
    ran = [r for r in records if r.get("task_name") == sync_tasks.sync_provider_task.name]
    assert own and all(r in ran for r in own)
    assert {r["task_id"] for r in ran} == {result.id}
    assert {(r["org"], r["provider"]) for r in own} == {(org.slug, "calendly")}

    people = set().union(
        *(personal_values(invitees) for invitees in fake.invitees.values()), {TOKEN}
    )
    assert any("@" in value for value in people)
    assert {value for value in people for line in lines if value in line} == set()


def test_an_item_a_sync_refuses_is_logged_by_its_ref_and_error_class_only(team_a):
    from apps.integrations.providers import provider_named
    from attribution.sources.records import ParseError

    run = SyncRun.objects.create(org=team_a.org, provider="calendly")
    syncer = provider_named("calendly").syncer(
        org=team_a.org, client=None, run=run, full=False, since=None, on_progress=None
    )

    def quoting(item):
        raise ValueError(f"not a phone: {item['phone']} of {item['email']}")

    def naming(item):
        raise ParseError("calendly.invitee.email is missing")

    with json_log_lines() as lines:
        syncer.ingest(
            "invitees", {"id": "IN1", "phone": "+1 415 555 1999", "email": "a@b.co"}, quoting
        )
        syncer.ingest("invitees", {"id": "IN2"}, naming)
    messages = [record["message"] for record in parsed(lines)]
    assert messages == [
        f"sync {team_a.org.slug} invitees IN1: ValueError",
        f"sync {team_a.org.slug} invitees IN2: ParseError: calendly.invitee.email is missing",
    ]
