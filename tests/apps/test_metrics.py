"""/metrics: what a Prometheus scrape sees (config/metrics.py), and that it sees nothing personal."""

import json
import re
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
import redis
import yaml
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from apps.integrations.models import SyncRun, WebhookEvent
from apps.integrations.services import credential_set
from tests.apps.tenant_rows import tenant_rows

TOKEN = "scrape-token-9f2c"
DEPLOY = Path(settings.BASE_DIR) / "deploy"
MARKER = "Quixotic-Person"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client) -> str:
    response = client.get(reverse("metrics"), headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.content
    return response.content.decode()


def samples(text: str) -> dict[tuple, float]:
    """(sample name, sorted labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels) -> float:
    return samples(text)[(name, tuple(sorted(labels.items())))]


# --- access ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_is_a_404_without_a_configured_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert client.post("/metrics").status_code == 404


@pytest.mark.django_db
def test_it_refuses_a_missing_or_wrong_token(client, token):
    assert client.get("/metrics").status_code == 401
    for header in (f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "):
        response = client.get("/metrics", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert b"attribution_" not in response.content


@pytest.mark.django_db
def test_it_answers_the_right_token_in_prometheus_text_format(client, token):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    text = response.content.decode()
    assert value(text, "attribution_dependency_up", dependency="database") == 1
    assert value(text, "attribution_dependency_up", dependency="redis") == 1


@pytest.mark.django_db
def test_it_needs_no_session_and_refuses_writes(client, token, team_a):
    client.force_login(team_a.owner)  # a session is neither needed nor a substitute for the token
    assert client.get("/metrics").status_code == 401
    response = client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 405


# --- what it reports ---------------------------------------------------------------------------


def test_an_old_pending_delivery_shows_in_the_backlog_with_its_age(client, token, team_a, team_b):
    old = WebhookEvent.objects.create(
        org=team_a.org, provider="calendly", event_id="evt-old", body=b"{}"
    )
    WebhookEvent.objects.filter(pk=old.pk).update(
        received_at=timezone.now() - timedelta(minutes=20)
    )
    WebhookEvent.objects.create(org=team_b.org, provider="calendly", event_id="evt-new", body=b"{}")
    WebhookEvent.objects.create(
        org=team_b.org, provider="stripe", event_id="evt-done", body=b"{}", status="processed"
    )
    WebhookEvent.objects.create(
        org=team_b.org, provider="close", event_id="evt-bad", body=b"{}", status="failed"
    )

    text = scrape(client)

    name = "attribution_webhook_inbox_backlog"
    assert value(text, name, provider="calendly", status="pending") == 2
    assert value(text, name, provider="stripe", status="pending") == 0
    age = value(text, "attribution_webhook_inbox_oldest_pending_age_seconds", provider="calendly")
    assert 20 * 60 <= age < 21 * 60
    assert (
        value(text, "attribution_webhook_inbox_oldest_pending_age_seconds", provider="stripe") == 0
    )
    assert value(text, "attribution_webhook_inbox_failed", provider="close") == 1
    hour = "attribution_webhook_events_last_hour"
    assert value(text, hour, provider="stripe", status="processed") == 1
    assert value(text, hour, provider="calendly", status="pending") == 2


def test_a_failed_sync_and_a_lagging_one_show(client, token, team_a, team_b):
    for team in (team_a, team_b):
        credential_set(org=team.org, provider="close", name="api_key", value="k", actor=None)
    ok = SyncRun.objects.create(org=team_a.org, provider="close", status="succeeded")
    SyncRun.objects.filter(pk=ok.pk).update(
        started_at=timezone.now() - timedelta(hours=31),
        finished_at=timezone.now() - timedelta(hours=30),
    )
    SyncRun.objects.create(org=team_a.org, provider="close", status="failed", error="boom")
    fresh = SyncRun.objects.create(org=team_b.org, provider="close", status="succeeded")
    SyncRun.objects.filter(pk=fresh.pk).update(finished_at=timezone.now())
    # A provider nobody connected any more must not count as lagging for ever.
    gone = SyncRun.objects.create(org=team_b.org, provider="stripe", status="failed")
    SyncRun.objects.filter(pk=gone.pk).update(started_at=timezone.now() - timedelta(days=90))

    text = scrape(client)

    latest = "attribution_sync_latest_run"
    assert value(text, latest, provider="close", status="failed") == 1
    assert value(text, latest, provider="close", status="succeeded") == 1
    assert value(text, latest, provider="stripe", status="failed") == 0
    lag = value(text, "attribution_sync_last_success_age_seconds", provider="close")
    assert 30 * 3600 <= lag < 31 * 3600
    assert value(text, "attribution_sync_last_success_age_seconds", provider="stripe") == 0
    assert value(text, "attribution_sync_never_succeeded", provider="close") == 0


def test_a_connected_integration_that_never_synced_is_counted(client, token, team_a):
    credential_set(org=team_a.org, provider="calendly", name="api_token", value="t", actor=None)
    text = scrape(client)
    assert value(text, "attribution_sync_latest_run", provider="calendly", status="never_ran") == 1
    assert value(text, "attribution_sync_never_succeeded", provider="calendly") == 1


def test_rejected_signatures_are_the_integrations_page_counter(client, token, team_a, team_b):
    name = "attribution_webhook_rejected_signatures_today"
    # The counters live in Redis, which outlives a test's transaction: count the difference.
    before = samples(scrape(client))
    for team in (team_a, team_b):
        # No secret configured: refused and counted, as the Integrations page shows.
        url = reverse("webhooks:receive", args=["typeform", team.org.slug])
        assert client.post(url, b"{}", content_type="application/json").status_code == 401
    after = samples(scrape(client))
    typeform, stripe = ((name, (("provider", p),)) for p in ("typeform", "stripe"))
    assert after[typeform] - before[typeform] == 2
    assert after[stripe] - before[stripe] == 0


def test_beat_entries_report_when_they_last_ran(client, token, db):
    from django_celery_beat.models import PeriodicTask

    entry = PeriodicTask.objects.get(name="integrations: nightly sync")
    entry.last_run_at = timezone.now() - timedelta(hours=3)
    entry.save()
    text = scrape(client)
    sent = value(
        text,
        "attribution_beat_task_last_run_timestamp_seconds",
        task="integrations: nightly sync",
    )
    assert sent == pytest.approx(entry.last_run_at.timestamp())


@pytest.mark.django_db
def test_queued_tasks_are_counted_by_queue(client, token, settings):
    settings.CELERY_BROKER_URL = settings.REDIS_URL or "redis://127.0.0.1:6379/13"
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("sync", "sync\x06\x163")
    try:
        broker.rpush("sync", "a", "b")
        broker.rpush("sync\x06\x163", "c")
        text = scrape(client)
    finally:
        broker.delete("sync", "sync\x06\x163")
    assert value(text, "attribution_celery_queue_length", queue="sync") == 3


@pytest.mark.django_db
def test_responses_are_counted_by_url_name_and_status_class(client, token):
    before = samples(scrape(client))
    client.get("/healthz")
    client.get("/no-such-page/org-a/12345")
    after = samples(scrape(client))

    def delta(**labels):
        key = ("attribution_http_responses_total", tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert delta(view="healthz", method="GET", status="2xx") == 1
    assert delta(view="unmatched", method="GET", status="4xx") == 1
    # Paths carry org slugs and ids: none may become a label.
    assert not any("org-a" in str(key) for key in after)


def test_nothing_personal_or_org_identifying_is_exposed(client, token, team_a, team_b):
    rows = tenant_rows(team_a, MARKER)  # its Stripe api_key makes Stripe a connected integration
    SyncRun.objects.create(org=team_a.org, provider="stripe", status="failed", error=MARKER)
    WebhookEvent.objects.create(
        org=team_a.org,
        provider="close",
        event_id=f"{MARKER}-evt",
        event_type=MARKER,
        body=json.dumps({"email": rows["contact"].primary_email}).encode(),
        status="failed",
        error=MARKER,
    )
    text = scrape(client)
    forbidden = [
        MARKER,
        rows["contact"].primary_email,
        team_a.owner.email,
        team_a.closer_member.name,
        team_a.org.slug,
        team_a.org.name,
        team_b.org.slug,
        "@",
    ]
    for needle in forbidden:
        assert needle.lower() not in text.lower(), needle
    # And no org id as a label either: totals per provider, not per tenant.
    assert not re.search(r'\b(org|org_id|organisation|tenant)="', text)


# --- deploy/ ------------------------------------------------------------------------------------


def _referenced_metrics(expression: str) -> set[str]:
    return set(re.findall(r"\battribution_[a-z_]+", expression))


def _exposed(text: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(s.name for s in family.samples)
    return names


@pytest.mark.django_db
def test_the_alert_rules_and_the_dashboard_name_only_exposed_metrics(client, token):
    client.get("/healthz")  # so the request histogram has a sample
    exposed = _exposed(scrape(client))

    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    alerts = {rule["alert"]: rule["expr"] for g in rules["groups"] for rule in g["rules"]}
    for needed in (
        "WebhookInboxBacklogOld",
        "SyncFailing",
        "SyncLagging",
        "ReadinessFailing",
        "HighServerErrorRate",
    ):
        assert needed in alerts
    assert "> 900" in alerts["WebhookInboxBacklogOld"]
    assert "26 * 3600" in alerts["SyncLagging"]
    dashboard = json.loads((DEPLOY / "grafana" / "attribution.json").read_text())
    expressions = [*alerts.values()] + [
        target["expr"] for panel in dashboard["panels"] for target in panel["targets"]
    ]
    referenced = set().union(*(_referenced_metrics(e) for e in expressions))
    assert referenced, "no attribution_ metric referenced"
    assert referenced - exposed == set()


def test_a_dependency_that_cannot_be_read_is_reported_not_a_500(client, token, team_a, monkeypatch):
    from django.core.cache import cache
    from django.db import OperationalError

    from config.metrics import OperationsCollector

    def down(self):
        raise OperationalError("connection refused")

    def redis_down(keys):
        raise ConnectionError("Redis is away")

    monkeypatch.setattr(OperationsCollector, "_database", down)
    monkeypatch.setattr(cache, "get_many", redis_down)
    text = scrape(client)
    assert value(text, "attribution_dependency_up", dependency="database") == 0
    assert value(text, "attribution_dependency_up", dependency="redis") == 0


@pytest.mark.django_db
def test_task_outcomes_are_counted_by_task(client, token):
    from django.core.cache import cache

    from apps.kpis.tasks import rollup_rebuild_task
    from apps.orgs.models import Organization
    from config.task_metrics import counter_key

    name = rollup_rebuild_task.name
    cache.delete_many([counter_key(name, outcome) for outcome in ("success", "failure")])
    rollup_rebuild_task.apply(args=[0])  # no such org: a quiet success
    rollup_rebuild_task.apply(args=[0])
    org = Organization.objects.create(slug="tasks-counted", name="Tasks counted")
    conf = rollup_rebuild_task.app.conf
    propagates, conf.task_eager_propagates = conf.task_eager_propagates, False
    try:
        with mock.patch("apps.kpis.tasks.rollup_rebuild", side_effect=RuntimeError("boom")):
            assert rollup_rebuild_task.apply(args=[org.pk]).failed()
    finally:
        conf.task_eager_propagates = propagates
    text = scrape(client)
    assert value(text, "attribution_celery_tasks_total", task=name, outcome="success") == 2
    assert value(text, "attribution_celery_tasks_total", task=name, outcome="failure") == 1
