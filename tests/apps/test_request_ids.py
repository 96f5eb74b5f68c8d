"""Request ids (issue 25): taken from a sane X-Request-ID, else generated, and always echoed."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings

from config import log_context
from tests.apps.log_capture import json_log_lines, parsed

pytestmark = pytest.mark.django_db


def test_a_sane_incoming_request_id_is_kept_and_echoed(client):
    response = client.get("/accounts/login/", headers={"X-Request-ID": "lb-7f3a.01:b_c"})
    assert response["X-Request-ID"] == "lb-7f3a.01:b_c"


@pytest.mark.parametrize(
    "incoming",
    [None, "", "x" * 129, "abc def", "abc\ninjected", 'a"b', "ünïcode", "<script>"],
)
def test_anything_else_is_replaced_by_a_fresh_id(client, incoming):
    headers = {} if incoming is None else {"X-Request-ID": incoming}
    first = client.get("/accounts/login/", headers=headers)["X-Request-ID"]
    second = client.get("/accounts/login/", headers=headers)["X-Request-ID"]
    assert first != incoming and first != second
    assert log_context.sane_request_id(first) == first


def test_the_middleware_runs_before_everything_but_the_security_middleware():
    # Only the metrics timer (which logs nothing) and the security middleware come first.
    first = settings.MIDDLEWARE.index("config.log_context.RequestContextMiddleware")
    assert set(settings.MIDDLEWARE[:first]) <= {
        "config.metrics.RequestMetricsMiddleware",
        "django.middleware.security.SecurityMiddleware",
    }


def test_a_signed_in_requests_lines_carry_its_user_and_org(client, team_a, monkeypatch):
    from apps.kpis import views

    def spy(*args, **kwargs):
        logging.getLogger("spy").info("dashboard rendered")
        return real(*args, **kwargs)

    real = views.render
    monkeypatch.setattr(views, "render", spy)
    client.force_login(team_a.owner)
    with json_log_lines() as lines:
        response = client.get("/", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 200
    [line] = [line for line in parsed(lines) if line["message"] == "dashboard rendered"]
    assert line["request_id"] == "req-42"
    assert line["user_id"] == team_a.owner.pk
    assert line["org"] == team_a.org.slug
    assert {"timestamp", "level", "logger"} <= line.keys() and line["level"] == "INFO"


def test_the_context_ends_with_the_request(client):
    client.get("/accounts/login/", headers={"X-Request-ID": "gone-after"})
    with json_log_lines() as lines:
        logging.getLogger("after").warning("outside any request")
    assert "request_id" not in parsed(lines)[0]


def test_a_published_task_carries_the_request_id_in_its_headers():
    headers: dict = {}
    with log_context.bound(request_id="pub-1"):
        log_context._publish_request_id(headers=headers)
    assert headers == {"request_id": "pub-1"}
    outside: dict = {}
    log_context._publish_request_id(headers=outside)
    assert outside == {}


def test_a_task_reads_the_request_id_from_its_message_headers(team_a):
    from apps.integrations import sync_tasks

    # As a worker would: no request around, only the header the enqueuer's process added.
    with json_log_lines() as lines:
        result = sync_tasks.sync_provider_task.apply(
            args=(team_a.org.pk, "calendly"), headers={"request_id": "from-web-9"}
        )
    [skipped] = [line for line in parsed(lines) if line["message"].startswith("sync skipped")]
    assert skipped["request_id"] == "from-web-9"
    assert skipped["task_id"] == result.id
    assert skipped["task_name"] == "apps.integrations.sync_tasks.sync_provider_task"
    assert skipped["org"] == team_a.org.slug and skipped["provider"] == "calendly"
    assert log_context.current() == {}
