"""Log lines of webhook deliveries (issue 25): one id from the POST to its task, no personal data.

Deliveries go through the real endpoint and are processed eagerly, retries included, as in
test_webhook_processing; a handler at DEBUG on the root logger formats every record as
production does.
"""

from __future__ import annotations

import json
import re
from unittest import mock

import pytest

from apps.integrations import tasks, webhooks
from tests.apps.integrations.webhook_support import SAMPLES, deliver, set_secrets
from tests.apps.log_capture import json_log_lines, parsed

pytestmark = pytest.mark.django_db
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PERSONAL_KEYS = re.compile(r"email|phone|name", re.IGNORECASE)


@pytest.fixture
def org(team_a):
    set_secrets(team_a.org)
    return team_a.org


@pytest.fixture(autouse=True)
def worker_retries():
    def enqueue(pk):
        tasks.process_webhook_event.apply(args=[pk])

    conf = tasks.process_webhook_event.app.conf
    propagates, conf.task_eager_propagates = conf.task_eager_propagates, False
    try:
        with mock.patch.object(webhooks, "_enqueue", side_effect=enqueue):
            yield
    finally:
        conf.task_eager_propagates = propagates


def personal_values(node, key: str = "") -> set[str]:
    """Every email anywhere, and the value of any field named like an email, phone or name."""
    if isinstance(node, dict):
        return set().union(*(personal_values(v, k) for k, v in node.items()))
    if isinstance(node, list):
        return set().union(*(personal_values(v, key) for v in node))
    if not isinstance(node, str) or not node.strip():
        return set()
    found = set(_EMAIL.findall(node))
    if PERSONAL_KEYS.search(key) and len(node) >= 4:
        found.add(node)
    return found


def test_no_email_phone_or_name_of_any_payload_reaches_a_log_line(
    client, org, django_capture_on_commit_callbacks
):
    payloads = [(sample.provider, sample.build()) for sample in SAMPLES]
    secrets = set().union(*(personal_values(payload) for _, payload in payloads))
    # The samples do hold people: otherwise this test could not fail.
    assert {"sample0.person@gmail.com", "Gus Marsh0", "+14155551999"} <= secrets

    with json_log_lines() as lines:
        for provider, payload in payloads:
            with django_capture_on_commit_callbacks(execute=True):
                response = deliver(client, provider, org.slug, payload)
            assert response.status_code == 200, response.content
        # A duplicate, a forged one and an unreadable one log too.
        provider, payload = payloads[0]
        assert deliver(client, provider, org.slug, payload).json()["duplicate"]
        assert deliver(client, provider, org.slug, payload, secret="forged").status_code == 401
        assert deliver(client, provider, org.slug, {"event": payload["payload"]}).status_code == 400
    assert sum("processed" in line for line in lines) >= len(SAMPLES)
    leaks = {value for value in secrets for line in lines if value.lower() in line.lower()}
    assert leaks == set()


def test_a_deliverys_view_and_task_lines_carry_its_request_id(
    client, org, django_capture_on_commit_callbacks
):
    sample = next(s for s in SAMPLES if s.id == "calendly:invitee.created")
    body = json.dumps(sample.build()).encode()
    from tests.apps.integrations.webhook_support import sign, url

    with json_log_lines() as lines, django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("calendly", org.slug),
            data=body,
            content_type="application/json",
            headers={**sign("calendly", body), "X-Request-ID": "abc123"},
        )
    assert response.status_code == 200 and response["X-Request-ID"] == "abc123"
    records = parsed(lines)
    [view] = [r for r in records if r["message"].startswith("webhook answered 200")]
    [task] = [r for r in records if re.fullmatch(r"webhook event \d+ processed: \w+", r["message"])]
    assert view["request_id"] == task["request_id"] == "abc123"
    assert view["org"] == task["org"] == org.slug
    assert view["provider"] == task["provider"] == "calendly"
    assert "task_id" not in view
    assert task["task_name"] == "apps.integrations.tasks.process_webhook_event"
    assert task["task_id"]
