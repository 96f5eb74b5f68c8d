"""The webhook endpoint's per-process copy of each org's secrets follows changes made anywhere.

Two web processes are simulated by two copies of the receivers table: the process that saves a
credential clears its own through the signal, the other only sees the shared version in Redis.
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.cache import cache
from django.test import override_settings

from apps.integrations import webhooks
from apps.integrations.services import credential_set
from tests.apps.integrations.webhook_support import SAMPLES, deliver, set_secrets

pytestmark = pytest.mark.django_db

NEW_SECRET = "tf-secret-rotated-Q4w8"
DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
    }
}
TYPEFORM = next(sample for sample in SAMPLES if sample.provider == "typeform")


@pytest.fixture
def org(team_a):
    cache.clear()
    set_secrets(team_a.org)
    return team_a.org


@pytest.fixture
def enqueued():
    with mock.patch.object(webhooks, "_enqueue") as enqueue:
        yield enqueue


@pytest.fixture
def other_process(monkeypatch):
    """Runs a block with the receivers table of a second web process, then switches back."""
    tables = {"other": {}}

    class _Switch:
        def __enter__(self):
            tables["this"] = webhooks._receivers
            monkeypatch.setattr(webhooks, "_receivers", tables["other"])

        def __exit__(self, *exc):
            monkeypatch.setattr(webhooks, "_receivers", tables["this"])

    return _Switch


def _save_new_secret(org, capture):
    with capture(execute=True):  # the version is bumped once the change is committed
        credential_set(
            org=org, provider="typeform", name="webhook_secret", value=NEW_SECRET, actor=None
        )


def test_a_new_secret_verifies_at_once_in_another_process(
    client, org, enqueued, other_process, django_capture_on_commit_callbacks
):
    with other_process():
        assert deliver(client, "typeform", org.slug, TYPEFORM.build()).status_code == 200
    _save_new_secret(org, django_capture_on_commit_callbacks)
    with other_process():
        response = deliver(client, "typeform", org.slug, TYPEFORM.build(), secret=NEW_SECRET)
    assert response.status_code == 200, response.content


def test_another_process_rereads_the_secrets_once_the_version_moved(
    org, other_process, django_capture_on_commit_callbacks
):
    with other_process():
        _, before = webhooks.webhook_receiver(org_slug=org.slug, provider="typeform")
    _save_new_secret(org, django_capture_on_commit_callbacks)
    with other_process():
        _, after = webhooks.webhook_receiver(org_slug=org.slug, provider="typeform")
    assert before == ["tf-secret-x9P1"]
    # The replaced secret keeps verifying through the rotation's grace period.
    assert after == [NEW_SECRET, "tf-secret-x9P1"]


def test_an_unchanged_version_serves_the_copy_without_the_database(org, django_assert_num_queries):
    webhooks.webhook_receiver(org_slug=org.slug, provider="typeform")
    with django_assert_num_queries(0):
        _, secrets = webhooks.webhook_receiver(org_slug=org.slug, provider="typeform")
    assert secrets == ["tf-secret-x9P1"]


def test_with_redis_down_another_process_checks_against_the_database(
    client, org, enqueued, other_process, django_capture_on_commit_callbacks
):
    with other_process():
        webhooks.webhook_receiver(org_slug=org.slug, provider="typeform")
    with override_settings(CACHES=DEAD_REDIS):
        # The change cannot reach Redis, so no process may trust the copy it holds.
        _save_new_secret(org, django_capture_on_commit_callbacks)
        with other_process():
            response = deliver(client, "typeform", org.slug, TYPEFORM.build(), secret=NEW_SECRET)
    assert response.status_code == 200, response.content
