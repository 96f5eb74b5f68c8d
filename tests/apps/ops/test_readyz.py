"""/readyz, the readiness probe: each dependency, stopped or faked absent, is reported by name
with a 503, and a healthy installation answers 200 with every check passing."""

import io
import json
import socket
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from apps.integrations.models import WebhookEvent
from apps.ops import health, probe
from apps.ops.tasks import beat_heartbeat_task
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

CHECKS = {"database", "redis", "migrations", "beat", "webhook_inbox"}
# Nothing listens on port 1 (reserved, never bound here): connections are refused at once.
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def with_beat(settings):
    """As in production: tasks go through a broker, so beat's heartbeat is checked."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # Tests below point REDIS_URL elsewhere: clean up where the heartbeat really lives.
    redis = health._redis(settings.REDIS_URL)
    redis.delete(health.HEARTBEAT_KEY)
    health._migrations_applied = False
    yield
    redis.delete(health.HEARTBEAT_KEY)
    health._migrations_applied = False


def _ready(client):
    response = client.get(reverse("readyz"))
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body["checks"]) == CHECKS
    return response.status_code, body


def _failed(body):
    return {name for name, check in body["checks"].items() if not check["ok"]}


def _pending_event(received_minutes_ago: float, status=WebhookEvent.Status.PENDING):
    event = WebhookEvent.objects.create(
        org=OrganizationFactory(),
        provider="stripe",
        event_id=f"evt_{time.monotonic_ns()}",
        body=b'{"email": "someone@example.com"}',
        status=status,
    )
    # received_at is auto_now_add: age it the way time would.
    WebhookEvent.objects.filter(pk=event.pk).update(
        received_at=timezone.now() - timedelta(minutes=received_minutes_ago)
    )
    return event


def test_healthy_it_answers_200_with_every_check_ok_and_no_login(client):
    beat_heartbeat_task()
    _pending_event(received_minutes_ago=1)
    _pending_event(received_minutes_ago=120, status=WebhookEvent.Status.PROCESSED)

    status, body = _ready(client)

    assert status == 200
    assert body["status"] == "ok"
    for check in body["checks"].values():
        assert check["ok"] is True
        assert isinstance(check["ms"], float)
        assert isinstance(check["detail"], str)


def test_it_reports_an_unreachable_database(client, monkeypatch):
    beat_heartbeat_task()
    default = connections["default"]
    dead = type(default)({**default.settings_dict, "PORT": 1, "HOST": "127.0.0.1"}, alias="dead")
    monkeypatch.setattr(health, "connections", {"default": dead})

    status, body = _ready(client)

    assert status == 503
    assert body["status"] == "fail"
    assert _failed(body) == {"database", "migrations", "webhook_inbox"}
    assert body["checks"]["database"]["detail"] == "error: OperationalError"
    assert body["checks"]["migrations"]["detail"] == "not checked: database failed"
    dead.close()


def test_it_reports_a_stopped_redis_within_a_second(client, settings):
    settings.REDIS_URL = DEAD_REDIS_URL

    started = time.perf_counter()
    status, body = _ready(client)

    assert time.perf_counter() - started < 1.5
    assert status == 503
    assert _failed(body) == {"redis", "beat"}
    assert body["checks"]["redis"]["detail"] == "error: ConnectionError"
    assert body["checks"]["beat"]["detail"] == "not checked: redis failed"


def test_without_redis_it_skips_redis_and_beat_and_says_so(client, settings):
    # `make run`: no REDIS_URL, tasks in-process.
    settings.REDIS_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = True

    status, body = _ready(client)

    assert status == 200
    assert body["checks"]["redis"]["detail"].startswith("skipped: no REDIS_URL")
    assert body["checks"]["beat"]["detail"].startswith("skipped: tasks run in-process")


def test_it_reports_an_unapplied_migration(client, monkeypatch):
    beat_heartbeat_task()
    monkeypatch.setattr(
        MigrationExecutor, "migration_plan", lambda self, targets: [("ops.0002_new", False)]
    )

    status, body = _ready(client)

    assert status == 503
    assert _failed(body) == {"migrations"}
    assert body["checks"]["migrations"]["detail"] == "1 unapplied"


def test_it_asks_for_the_migration_plan_once_it_was_empty(client, monkeypatch):
    beat_heartbeat_task()
    assert _ready(client)[0] == 200

    def _no_second_plan(self, targets):
        raise AssertionError("the positive answer should have been cached")

    monkeypatch.setattr(MigrationExecutor, "migration_plan", _no_second_plan)
    status, body = _ready(client)

    assert status == 200
    assert body["checks"]["migrations"]["ok"] is True


def test_it_reports_a_missing_beat_heartbeat(client):
    status, body = _ready(client)

    assert status == 503
    assert _failed(body) == {"beat"}
    assert body["checks"]["beat"]["detail"] == "no heartbeat recorded"


def test_it_reports_a_stale_beat_heartbeat(client, settings):
    settings.READYZ_BEAT_MAX_AGE_MINUTES = 10
    health._redis(settings.REDIS_URL).set(health.HEARTBEAT_KEY, repr(time.time() - 11 * 60))

    status, body = _ready(client)

    assert status == 503
    assert _failed(body) == {"beat"}
    assert body["checks"]["beat"]["detail"].startswith("last heartbeat 11.0 min ago")

    beat_heartbeat_task()
    assert _ready(client)[0] == 200


def test_with_tasks_in_process_the_beat_is_skipped(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True

    status, body = _ready(client)

    assert status == 200
    assert body["checks"]["beat"]["detail"].startswith("skipped:")


def test_it_reports_an_old_pending_webhook_event(client, settings):
    settings.READYZ_INBOX_MAX_AGE_MINUTES = 15
    beat_heartbeat_task()
    _pending_event(received_minutes_ago=20)

    status, body = _ready(client)

    assert status == 503
    assert _failed(body) == {"webhook_inbox"}
    assert body["checks"]["webhook_inbox"]["detail"].startswith("oldest pending event 20.0 min")


def test_it_never_shows_a_secret_or_a_dependency_address(client, settings, monkeypatch):
    settings.REDIS_URL = "redis://:redis-password-xyz@127.0.0.1:1/0"
    default = connections["default"]
    dead = type(default)(
        {**default.settings_dict, "PORT": 1, "PASSWORD": "db-password-xyz"}, alias="dead"
    )
    monkeypatch.setattr(health, "connections", {"default": dead})
    _pending_event(received_minutes_ago=30)

    response = client.get(reverse("readyz"))

    text = response.content.decode()
    for secret in ("redis-password-xyz", "db-password-xyz", settings.SECRET_KEY, "127.0.0.1"):
        assert secret not in text
    assert "someone@example.com" not in text
    assert "Set-Cookie" not in response.headers
    assert json.loads(text)["status"] == "fail"
    dead.close()


def test_it_refuses_a_write_method(client):
    assert client.post(reverse("readyz")).status_code == 405


def test_liveness_asks_no_dependency(client, settings, monkeypatch):
    settings.REDIS_URL = DEAD_REDIS_URL
    monkeypatch.setattr(health, "readiness", lambda: pytest.fail("healthz ran readiness"))

    response = client.get(reverse("healthz"))

    assert response.status_code == 200


def test_a_hung_redis_fails_after_its_socket_timeout_not_later(client, settings):
    # Accepts connections (the kernel's backlog) and never answers: a Redis that hangs.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        settings.REDIS_URL = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
        settings.READYZ_REDIS_TIMEOUT_SECONDS = 0.5

        started = time.perf_counter()
        status, body = _ready(client)
        elapsed = time.perf_counter() - started

    assert status == 503
    assert body["checks"]["redis"]["detail"] == "error: TimeoutError"
    # The probe's own timeout, not the cache's 2 s nor the kernel's minutes.
    assert elapsed < 1.0


def test_the_readiness_command_fails_on_a_stale_beat_and_passes_on_a_fresh_one(settings):
    with pytest.raises(CommandError):
        call_command("readiness", "--check", "beat", stdout=io.StringIO())

    beat_heartbeat_task()
    out = io.StringIO()
    call_command("readiness", "--check", "beat", stdout=out)
    assert json.loads(out.getvalue())["checks"]["beat"]["ok"] is True


@pytest.mark.django_db(transaction=True)
def test_the_container_probe_exits_by_the_answer(live_server, monkeypatch):
    monkeypatch.setenv("PORT", live_server.url.rsplit(":", 1)[1])
    monkeypatch.delenv("ALLOWED_HOSTS", raising=False)

    assert probe.main(["probe", "/healthz"]) == 0
    assert probe.main(["probe", "/readyz"]) == 1  # no beat heartbeat yet
    beat_heartbeat_task()
    assert probe.main(["probe", "/readyz"]) == 0
    monkeypatch.setenv("PORT", "1")
    assert probe.main(["probe", "/healthz"]) == 1
