"""With a real worker (issue 25): the request id of a webhook POST travels in the task's message.

Eager tasks inherit the request's context; a worker only has what the message carries. The POST
below is enqueued to Redis and processed by a real ``celery -A config worker`` logging JSON.
"""

from __future__ import annotations

import json

import pytest

from apps.integrations.models import WebhookEvent
from config.celery import app as celery_app
from tests.apps.integrations.test_webhook_worker import Worker, _until
from tests.apps.integrations.webhook_support import SAMPLES, encode, set_secrets, sign, url
from tests.factories import OrganizationFactory

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_the_workers_line_of_a_delivery_carries_the_posts_request_id(client, tmp_path):
    org = OrganizationFactory(slug="worker-logs-org")
    set_secrets(org)
    body = encode(next(s for s in SAMPLES if s.id == "calendly:invitee.created").build())
    celery_app.control.purge()  # nothing an interrupted earlier run left behind
    worker = Worker(tmp_path / "worker.log", LOG_FORMAT="json")
    eager, celery_app.conf.task_always_eager = celery_app.conf.task_always_eager, False
    try:
        response = client.post(
            url("calendly", org.slug),
            data=body,
            content_type="application/json",
            headers={**sign("calendly", body), "X-Request-ID": "abc123"},
        )
        assert response.status_code == 200
        event = WebhookEvent.objects.get(org=org)
        done = f"webhook event {event.pk} processed: created"
        [line] = _until(
            lambda: [r for r in _json_lines(worker.output()) if r["message"] == done],
            what="the worker's line",
            worker=worker,
        )
    finally:
        celery_app.conf.task_always_eager = eager
        worker.stop()
    assert line["request_id"] == "abc123"
    assert line["task_name"] == "apps.integrations.tasks.process_webhook_event"
    assert line["org"] == org.slug and line["provider"] == "calendly"
    assert line["task_id"] and line["level"] == "INFO" and line["timestamp"]
