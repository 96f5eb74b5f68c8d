"""Prometheus metrics at /metrics (issue 25).

Why most numbers are computed at scrape time: gunicorn's workers, the Celery workers and beat are
separate processes, often on separate machines, and an in-process counter only knows its own
process. The inbox, the sync runs, beat's schedule and the rejected-signature counters already
live in PostgreSQL and Redis, shared by every process, so ``OperationsCollector`` reads them
there on each scrape: nothing to lose when a process restarts, nothing to aggregate across
hosts. Only request counts and latencies exist nowhere but in the process that served the
request; ``RequestMetricsMiddleware`` keeps those with prometheus-client, in its multiprocess mode
when ``PROMETHEUS_MULTIPROC_DIR`` is set (gunicorn with several workers: see gunicorn.conf.py).

Labels are providers, statuses, queue and beat entry names and URL names: bounded sets that name
no organisation and no person. Per-org detail is on each org's Integrations page.
"""

import hmac
import logging
import os
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)


def _providers() -> tuple[str, ...]:
    from apps.integrations.providers import PROVIDERS  # apps load after this module

    return PROVIDERS


# Kombu's Redis transport keeps a queue's priorities 3, 6 and 9 in lists beside the plain one.
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = ("", f"{_PRIORITY_SEP}3", f"{_PRIORITY_SEP}6", f"{_PRIORITY_SEP}9")
QUEUES = ("celery", "sync")


def _gauge(name: str, documentation: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


class OperationsCollector(Collector):
    """Reads the shared state every process writes; see the module docstring."""

    def collect(self):
        started = time.perf_counter()
        up = _gauge(
            "attribution_dependency_up",
            "1 when this scrape could read the dependency, 0 when it failed.",
            ("dependency",),
        )
        families = []
        try:
            families += self._database()
            up.add_metric(["database"], 1)
        except Exception:
            logger.exception("metrics: the database could not be read")
            up.add_metric(["database"], 0)
        try:
            families += self._redis()
            up.add_metric(["redis"], 1)
        except Exception:
            logger.exception("metrics: Redis could not be read")
            up.add_metric(["redis"], 0)
        yield from families
        yield up
        duration = _gauge(
            "attribution_metrics_scrape_duration_seconds",
            "Time this scrape spent reading PostgreSQL and Redis.",
        )
        duration.add_metric([], time.perf_counter() - started)
        yield duration

    # --- PostgreSQL ---------------------------------------------------------------------------

    def _database(self):
        from apps.integrations.models import WebhookEvent

        now = timezone.now()
        backlog = _gauge(
            "attribution_webhook_inbox_backlog",
            "Inbox rows not processed yet (pending or processing).",
            ("provider", "status"),
        )
        oldest = _gauge(
            "attribution_webhook_inbox_oldest_pending_age_seconds",
            "Age of the oldest inbox row still pending or processing (0 when none is).",
            ("provider",),
        )
        waiting = [WebhookEvent.Status.PENDING, WebhookEvent.Status.PROCESSING]
        # (status, received_at) index: one range per status, over the backlog only.
        rows = (
            WebhookEvent.objects.filter(status__in=waiting)
            .values("provider", "status")
            .annotate(n=Count("pk"), oldest=Min("received_at"))
            .order_by()
        )
        ages = dict.fromkeys(_providers(), 0.0)
        counts = {(p, s): 0 for p in _providers() for s in waiting}
        for row in rows:
            counts[(row["provider"], row["status"])] = row["n"]
            age = (now - row["oldest"]).total_seconds()
            ages[row["provider"]] = max(ages.get(row["provider"], 0.0), age)
        for (provider, status), n in sorted(counts.items()):
            backlog.add_metric([provider, status], n)
        for provider, age in sorted(ages.items()):
            oldest.add_metric([provider], age)

        received = _gauge(
            "attribution_webhook_events_last_hour",
            "Verified deliveries stored in the last hour, by their status now.",
            ("provider", "status"),
        )
        # Naming every status keeps the same index usable for the time range.
        rows = (
            WebhookEvent.objects.filter(
                status__in=WebhookEvent.Status.values, received_at__gte=now - timedelta(hours=1)
            )
            .values("provider", "status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        counts = {(p, s): 0 for p in _providers() for s in WebhookEvent.Status.values}
        for row in rows:
            counts[(row["provider"], row["status"])] = row["n"]
        for (provider, status), n in sorted(counts.items()):
            received.add_metric([provider, status], n)

        failed = _gauge(
            "attribution_webhook_inbox_failed",
            "Inbox rows that failed every attempt and wait for a replay (admin, Webhook events).",
            ("provider",),
        )
        rows = (
            WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED)
            .values("provider")
            .annotate(n=Count("pk"))
            .order_by()
        )
        counts = dict.fromkeys(_providers(), 0) | {row["provider"]: row["n"] for row in rows}
        for provider, n in sorted(counts.items()):
            failed.add_metric([provider], n)

        return [backlog, oldest, received, failed, *self._syncs(now), self._beat()]

    def _syncs(self, now):
        from apps.integrations.models import Credential, SyncRun
        from apps.integrations.providers import REGISTRY

        # The integrations the nightly sync runs (sync.connected_integrations), each with its
        # latest run and latest success: two LIMIT 1 lookups on (org, provider, -started_at) per
        # integration, however many runs history holds.
        runs = SyncRun.objects.filter(org=OuterRef("org"), provider=OuterRef("provider"))
        latest = runs.order_by("-started_at")
        succeeded = latest.filter(status=SyncRun.Status.SUCCEEDED)
        usable = Q()
        for name, provider in REGISTRY.items():
            usable |= Q(provider=name, name=provider.api_credential)
        rows = (
            Credential.objects.filter(usable, rejected_at__isnull=True)
            .annotate(
                latest_status=Subquery(latest.values("status")[:1]),
                last_success=Subquery(succeeded.values("finished_at")[:1]),
            )
            .values_list("provider", "latest_status", "last_success")
        )
        statuses = (*SyncRun.Status.values, "never_ran")
        by_status = {(p, s): 0 for p in REGISTRY for s in statuses}
        lag = dict.fromkeys(REGISTRY, 0.0)
        never = dict.fromkeys(REGISTRY, 0)
        for provider, status, last_success in rows:
            by_status[(provider, status or "never_ran")] += 1
            if last_success is None:
                never[provider] += 1
            else:
                lag[provider] = max(lag[provider], (now - last_success).total_seconds())

        latest_family = _gauge(
            "attribution_sync_latest_run",
            "Connected integrations by the status of their latest sync run.",
            ("provider", "status"),
        )
        for (provider, status), n in sorted(by_status.items()):
            latest_family.add_metric([provider, status], n)
        lag_family = _gauge(
            "attribution_sync_last_success_age_seconds",
            "Seconds since the most out-of-date connected integration last synced successfully "
            "(integrations that never succeeded are counted apart).",
            ("provider",),
        )
        for provider, seconds in sorted(lag.items()):
            lag_family.add_metric([provider], seconds)
        never_family = _gauge(
            "attribution_sync_never_succeeded",
            "Connected integrations without a successful sync yet (a first backfill, or broken).",
            ("provider",),
        )
        for provider, n in sorted(never.items()):
            never_family.add_metric([provider], n)
        return [latest_family, lag_family, never_family]

    def _beat(self):
        from django_celery_beat.models import PeriodicTask

        family = _gauge(
            "attribution_beat_task_last_run_timestamp_seconds",
            "When beat last sent each enabled periodic task (0: never), e.g. the nightly sync "
            "and the nightly rollup rebuild.",
            ("task",),
        )
        rows = PeriodicTask.objects.filter(enabled=True).values_list("name", "last_run_at")
        for name, last_run_at in sorted(rows):
            family.add_metric([name], last_run_at.timestamp() if last_run_at else 0)
        return family

    # --- Redis --------------------------------------------------------------------------------

    def _redis(self):
        from apps.integrations.webhooks import rejected_counter_key
        from apps.orgs.models import Organization

        rejected = _gauge(
            "attribution_webhook_rejected_signatures_today",
            "Deliveries refused for a missing or bad signature today (UTC), the counter the "
            "Integrations page shows, summed over organisations.",
            ("provider",),
        )
        today = timezone.now().date()
        org_ids = list(Organization.objects.order_by().values_list("pk", flat=True))
        keys = {
            rejected_counter_key(org_id=org_id, provider=provider, day=today): provider
            for org_id in org_ids
            for provider in _providers()
        }
        totals = dict.fromkeys(_providers(), 0)
        found = cache.get_many(list(keys)) if keys else {}
        for key, value in found.items():
            totals[keys[key]] += int(value or 0)
        for provider, n in sorted(totals.items()):
            rejected.add_metric([provider], n)
        families = [rejected, self._tasks()]

        broker = settings.CELERY_BROKER_URL
        if broker.startswith(("redis://", "rediss://")):
            import redis

            queued = _gauge(
                "attribution_celery_queue_length",
                "Tasks waiting in the broker, by queue.",
                ("queue",),
            )
            client = redis.Redis.from_url(broker, socket_timeout=2, socket_connect_timeout=2)
            try:
                with client.pipeline(transaction=False) as pipe:
                    for queue in QUEUES:
                        for step in _PRIORITY_STEPS:
                            pipe.llen(queue + step)
                    lengths = pipe.execute()
            finally:
                client.close()
            per_queue = len(_PRIORITY_STEPS)
            for i, queue in enumerate(QUEUES):
                queued.add_metric([queue], sum(lengths[i * per_queue : (i + 1) * per_queue]))
            families.append(queued)
        return families

    def _tasks(self):
        from celery import current_app

        from config.task_metrics import task_counts

        family = CounterMetricFamily(
            "attribution_celery_tasks",
            "Task runs by outcome (success, failure, retry), counted by the workers in Redis.",
            labels=["task", "outcome"],
        )
        names = sorted(name for name in current_app.tasks if not name.startswith("celery."))
        for (task, outcome), n in sorted(task_counts(names).items()):
            family.add_metric([task, outcome], n)
        return family


# --- requests (in-process, multiprocess-aware) --------------------------------------------------

REQUESTS = Counter(
    "attribution_http_responses",
    "Responses served, by URL name, method and status class (2xx...5xx).",
    ("view", "method", "status"),
)
LATENCY = Histogram(
    "attribution_http_request_duration_seconds",
    "Time from the middleware seeing the request to the response, by URL name.",
    ("view",),
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # URL names, never paths: a path holds org slugs and ids, and a scanner's random paths
        # would add a series each.
        view = (match.view_name or "unnamed") if match else "unmatched"
        method = request.method if request.method in _METHODS else "other"
        REQUESTS.labels(view, method, f"{response.status_code // 100}xx").inc()
        LATENCY.labels(view).observe(time.perf_counter() - started)
        return response


_operations = OperationsCollector()


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Every gunicorn worker's request counters, read from their files in that directory.
        multiprocess.MultiProcessCollector(registry)
    else:
        # One process (runserver, tests): its own counters are the whole story.
        registry.register(_DefaultCollectors())
    registry.register(_operations)
    return registry


class _DefaultCollectors(Collector):
    def collect(self):
        for collector in (REQUESTS, LATENCY):
            yield from collector.collect()


def _authorized(request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def metrics_view(request):
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404  # not configured: nothing is exposed, and nothing says there is anything
    if request.method not in ("GET", "HEAD"):
        # After the token check: a 405 would tell an unconfigured site's visitors it exists.
        return HttpResponseNotAllowed(["GET", "HEAD"])
    if not _authorized(request, token):
        response = HttpResponse("unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
