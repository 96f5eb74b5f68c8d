"""Fixtures of the integration tests."""

from unittest import mock

import pytest

from apps.integrations import tasks, webhooks


@pytest.fixture
def worker():
    """The real task for each stored webhook row, applied as a worker would: its retries
    included, their countdowns skipped. Yields the mock standing in for the enqueue."""
    conf = tasks.process_webhook_event.app.conf
    propagates, conf.task_eager_propagates = conf.task_eager_propagates, False
    try:
        with mock.patch.object(
            webhooks, "_enqueue", side_effect=lambda pk: tasks.process_webhook_event.apply([pk])
        ) as enqueue:
            yield enqueue
    finally:
        conf.task_eager_propagates = propagates
