"""'Sync now' without a broker (`make run`): the request answers at once and the sync runs once."""

from __future__ import annotations

import threading

import pytest
from django.urls import reverse

from apps.integrations import sync_tasks
from apps.integrations.models import SyncRun
from apps.integrations.services import credential_set


@pytest.fixture
def org(team_a):
    credential_set(org=team_a.org, provider="calendly", name="api_token", value="t", actor=None)
    return team_a.org


@pytest.mark.django_db(transaction=True)
def test_sync_now_answers_before_the_sync_ends(client, org, team_a, settings, monkeypatch):
    settings.EAGER_TASKS_IN_THREAD = True
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def slow_sync(*, org, provider, full=False):
        started.set()
        release.wait(10)  # a backfill of a few minutes, as far as the request can tell
        finished.set()
        return SyncRun.objects.create(org=org, provider=provider, status=SyncRun.Status.SUCCEEDED)

    monkeypatch.setattr(sync_tasks, "sync_run", slow_sync)
    client.force_login(team_a.admin)
    response = client.post(
        reverse("integrations_sync:start"), {"provider": "calendly"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "Sync queued" in response.content.decode()
    assert started.wait(10) and not finished.is_set()  # running beside the answered request
    release.set()
    assert finished.wait(10)


@pytest.mark.django_db
def test_an_in_process_sync_that_fails_runs_once_not_four_times(org, monkeypatch):
    runs = []

    def failing_sync(*, org, provider, full=False):
        runs.append(provider)
        return SyncRun.objects.create(
            org=org, provider=provider, status=SyncRun.Status.FAILED, error="HTTP 503"
        )

    monkeypatch.setattr(sync_tasks, "sync_run", failing_sync)
    sync_tasks.sync_provider_task.apply(args=(org.pk, "calendly"))
    assert runs == ["calendly"]  # eager retries would fire at once: one click, four runs
