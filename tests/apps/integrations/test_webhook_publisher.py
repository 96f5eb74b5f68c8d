"""A webhook is acknowledged once stored; its task is published from the publisher thread."""

import logging
import threading
from unittest import mock

import pytest

from apps.integrations import tasks
from apps.integrations.models import WebhookEvent
from apps.orgs import publisher
from config import log_context
from tests.apps.integrations.webhook_support import deliver, set_secrets
from tests.attribution.sources.conftest import load_fixture


@pytest.fixture
def broker_mode(settings):
    """Tasks go to a broker (not eager), as in production."""
    settings.PUBLISH_IN_BACKGROUND = True
    conf = tasks.process_webhook_event.app.conf
    eager, conf.task_always_eager = conf.task_always_eager, False
    yield
    conf.task_always_eager = eager
    publisher.drain()


class _Recorder:
    def __init__(self, fail: bool = False):
        self.calls: list[tuple[tuple, str, object]] = []
        self.fail = fail
        self.done = threading.Event()

    def delay(self, *args):
        self.calls.append(
            (args, threading.current_thread().name, log_context.current().get("request_id"))
        )
        self.done.set()
        if self.fail:
            raise ConnectionError("broker down")


def test_it_publishes_from_the_publisher_thread_with_the_callers_ids(broker_mode):
    task = _Recorder()
    with log_context.bound(request_id="req-123"):
        publisher.publish_soon(task, 42)
    publisher.drain()
    assert task.calls == [((42,), "task publisher", "req-123")]


def test_a_failed_publish_is_logged_and_not_raised(broker_mode, caplog):
    task = _Recorder(fail=True)
    with caplog.at_level(logging.WARNING, logger="apps.orgs.publisher"):
        publisher.publish_soon(task, 7)
        publisher.drain()
    assert task.calls and "requeue sweep" in caplog.text


def test_eager_tasks_publish_at_once_on_the_calling_thread(settings):
    settings.PUBLISH_IN_BACKGROUND = True  # eager (the test settings) wins
    task = _Recorder()
    publisher.publish_soon(task, 1)
    assert task.calls == [((1,), threading.current_thread().name, None)]


@pytest.mark.django_db(transaction=True)
def test_the_acknowledgement_does_not_wait_for_the_publish(client, team_a, broker_mode):
    set_secrets(team_a.org)
    release = threading.Event()
    published: list[tuple[int, str]] = []

    def slow_delay(pk):
        release.wait(10)  # a broker that stalls: the answer must not wait for it
        published.append((pk, threading.current_thread().name))

    with mock.patch.object(tasks.process_webhook_event, "delay", side_effect=slow_delay):
        response = deliver(
            client, "stripe", team_a.org.slug, load_fixture("stripe/charge.succeeded")
        )
        assert response.status_code == 200
        event = WebhookEvent.objects.get(org=team_a.org)
        assert event.status == WebhookEvent.Status.PENDING and published == []
        release.set()
        publisher.drain()
    assert published == [(event.pk, "task publisher")]
