"""`manage.py sync` and the "sync now" partial."""

from __future__ import annotations

from io import StringIO

import pytest
import responses
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.integrations import sync_tasks
from apps.integrations.models import SyncRun
from apps.integrations.providers.calendly.client import CalendlyClient
from apps.integrations.services import credential_set
from apps.meetings.models import Meeting
from apps.orgs.models import AuditLog
from tests.apps.integrations.test_sync import CALENDLY, FakeCalendly


@pytest.fixture(autouse=True)
def unpaced(monkeypatch):
    # The command builds real clients; tests must not wait out the pacing.
    monkeypatch.setattr(CalendlyClient, "rate_per_second", 1e9)


@pytest.fixture
def org(team_a):
    credential_set(org=team_a.org, provider="calendly", name="api_token", value="t", actor=None)
    return team_a.org


def run_command(*args):
    out, err = StringIO(), StringIO()
    call_command("sync", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- the command ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_syncs_and_prints_a_summary_per_provider(org):
    fake = FakeCalendly(120)
    with responses.RequestsMock() as rsps:
        fake.install(rsps)
        out, err = run_command(org.slug, "calendly", "--full")

    assert len(out.strip().splitlines()) == 1  # one line per provider
    assert out.startswith("calendly: succeeded in ")
    assert "fetched 120, created 120, updated 0, unchanged 0, failed 0" in out
    assert "scheduled_events" in err and "\r" in err  # the progress bar
    assert Meeting.objects.for_org(org).count() == 120
    assert SyncRun.objects.get().full


@pytest.mark.django_db
def test_the_command_exits_non_zero_when_a_provider_failed(org):
    credential_set(org=org, provider="typeform", name="api_token", value="tf", actor=None)
    fake = FakeCalendly(2)
    with responses.RequestsMock() as rsps:
        fake.install(rsps)
        rsps.get("https://api.typeform.com/forms", status=401, json={"code": "AUTH"})
        with pytest.raises(CommandError, match="sync failed for typeform"):
            run_command(org.slug)  # every connected provider

    runs = {run.provider: run for run in SyncRun.objects.all()}
    assert runs["calendly"].status == SyncRun.Status.SUCCEEDED
    assert runs["typeform"].status == SyncRun.Status.FAILED


@pytest.mark.django_db
def test_the_command_reads_since_and_refuses_bad_input(org):
    fake = FakeCalendly(3)
    with responses.RequestsMock() as rsps:
        fake.install(rsps)
        run_command(org.slug, "calendly", "--since", "2026-01-31")
    assert fake.event_queries[0]["min_start_time"] == ["2026-01-31T00:00:00.000000Z"]

    with pytest.raises(CommandError, match="No organisation"):
        run_command("nope", "calendly")
    with pytest.raises(CommandError, match="Unknown provider"):
        run_command(org.slug, "hubspot")
    with pytest.raises(CommandError, match="--since"):
        run_command(org.slug, "calendly", "--since", "yesterday")
    with pytest.raises(CommandError, match="sync failed for close"):
        run_command(org.slug, "close")  # not connected


@pytest.mark.django_db
def test_the_command_says_so_when_nothing_is_connected(team_b):
    with pytest.raises(CommandError, match="no connected provider"):
        run_command(team_b.org.slug)


# --- sync now -------------------------------------------------------------------------------


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(sync_tasks.sync_provider_task, "delay", lambda *a: calls.append(a))
    return calls


HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.django_db
def test_an_admin_starts_a_sync_and_sees_it_queued(client, org, team_a, enqueued):
    client.force_login(team_a.admin)
    response = client.post(reverse("integrations_sync:start"), {"provider": "calendly"}, **HTMX)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Sync queued" in body and 'hx-trigger="every 2s"' in body
    assert AuditLog.objects.filter(org=org, action="integrations.sync_now").count() == 1


@pytest.mark.django_db(transaction=True)
def test_sync_now_enqueues_the_task_once_committed(client, team_a, enqueued):
    credential_set(org=team_a.org, provider="calendly", name="api_token", value="t", actor=None)
    client.force_login(team_a.owner)
    client.post(reverse("integrations_sync:start"), {"provider": "calendly"}, **HTMX)
    assert enqueued == [(team_a.org.pk, "calendly")]


@pytest.mark.django_db
def test_a_running_sync_is_shown_with_its_counts_and_polled(client, org, team_a):
    SyncRun.objects.create(
        org=org, provider="calendly", fetched=1234, created=1000, progress={"current": "invitees"}
    )
    client.force_login(team_a.owner)
    response = client.get(reverse("integrations_sync:status"), {"provider": "calendly"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Syncing invitees" in body and "1234" in body
    assert 'hx-trigger="every 2s"' in body
    assert "disabled" in body  # no second run while one is on


@pytest.mark.django_db
def test_a_finished_sync_stops_polling_and_shows_its_error(client, org, team_a):
    SyncRun.objects.create(
        org=org, provider="calendly", status=SyncRun.Status.FAILED, error="calendly: HTTP 503"
    )
    client.force_login(team_a.owner)
    body = client.get(
        reverse("integrations_sync:status"), {"provider": "calendly"}, **HTMX
    ).content.decode()
    assert "every 2s" not in body and "calendly: HTTP 503" in body


@pytest.mark.django_db
def test_a_sync_already_running_is_not_queued_twice(client, org, team_a, enqueued):
    SyncRun.objects.create(org=org, provider="calendly")
    client.force_login(team_a.owner)
    response = client.post(reverse("integrations_sync:start"), {"provider": "calendly"}, **HTMX)
    assert "Syncing" in response.content.decode()  # the running one, not a second
    assert not AuditLog.objects.filter(action="integrations.sync_now").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["manager", "closer", "setter", "viewer"])
def test_only_owners_and_admins_may_sync(client, org, team_a, role, enqueued):
    client.force_login(getattr(team_a, role))
    start = client.post(reverse("integrations_sync:start"), {"provider": "calendly"})
    status = client.get(reverse("integrations_sync:status"), {"provider": "calendly"})
    assert (start.status_code, status.status_code) == (403, 403)
    assert not AuditLog.objects.filter(action="integrations.sync_now").exists()


@pytest.mark.django_db
def test_another_orgs_admin_sees_and_starts_only_their_own(client, org, team_a, team_b, enqueued):
    SyncRun.objects.create(org=org, provider="calendly", fetched=4242)
    client.force_login(team_b.owner)
    body = client.get(
        reverse("integrations_sync:status"), {"provider": "calendly"}, **HTMX
    ).content.decode()
    assert "4242" not in body and "Not connected" in body
    client.post(reverse("integrations_sync:start"), {"provider": "calendly"}, **HTMX)
    assert not AuditLog.objects.filter(action="integrations.sync_now").exists()


@pytest.mark.django_db
def test_wrong_methods_and_unknown_providers(client, org, team_a):
    client.force_login(team_a.owner)
    assert client.get(reverse("integrations_sync:start")).status_code == 405
    assert client.post(reverse("integrations_sync:status")).status_code == 405
    assert client.post(reverse("integrations_sync:start"), {"provider": "x"}).status_code == 404
    response = client.get(reverse("integrations_sync:status"), {"provider": "x"}, **HTMX)
    assert response.status_code == 404


@pytest.mark.django_db
def test_without_javascript_the_status_page_lists_every_provider(client, org, team_a):
    client.force_login(team_a.owner)
    response = client.get(reverse("integrations_sync:status"))
    assert response.status_code == 200
    body = response.content.decode()
    for name in ("Calendly", "Typeform", "Close", "Stripe", "Whop"):
        assert f"<h2>{name}</h2>" in body
    redirect = client.post(reverse("integrations_sync:start"), {"provider": "typeform"})
    assert redirect.status_code == 302


@pytest.mark.django_db
def test_the_included_partial_loads_itself(org):
    from django.template.loader import render_to_string

    html = render_to_string("integrations/_sync.html", {"provider": "calendly"})
    assert 'hx-trigger="load"' in html
    assert reverse("integrations_sync:status") + "?provider=calendly" in html
    assert CALENDLY not in html


@pytest.mark.django_db
def test_the_integrations_page_carries_a_sync_partial_per_provider(client, org, team_a):
    client.force_login(team_a.owner)
    response = client.get(reverse("integrations:page"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="sync-calendly"' in body
    assert reverse("integrations_sync:status") + "?provider=calendly" in body
