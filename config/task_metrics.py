"""Task outcomes by task, counted where every process can add to them: Redis, via the cache.

Celery workers are not scraped (their processes come and go, one per prefork child); each
outcome adds one to a shared counter that /metrics reads (config/metrics.py). Counting never
fails a task: a cache outage loses counts, not work.
"""

from __future__ import annotations

import logging

from celery import signals
from django.core.cache import cache

logger = logging.getLogger(__name__)

OUTCOMES = ("success", "failure", "retry")
# Longer than any scrape interval by far; a counter that restarts from zero is what Prometheus'
# rate() expects of a counter anyway.
TTL_SECONDS = 90 * 86400


def counter_key(task_name: str, outcome: str) -> str:
    return f"metrics:tasks:{task_name}:{outcome}"


def _count(task_name: str | None, outcome: str) -> None:
    if not task_name:
        return
    key = counter_key(task_name, outcome)
    try:
        if not cache.add(key, 1, timeout=TTL_SECONDS):
            cache.incr(key)
    except Exception:
        logger.warning("task metrics: could not count %s of %s", outcome, task_name)


@signals.task_success.connect
def _on_success(sender=None, **kwargs) -> None:
    _count(getattr(sender, "name", None), "success")


@signals.task_failure.connect
def _on_failure(sender=None, **kwargs) -> None:
    _count(getattr(sender, "name", None), "failure")


@signals.task_retry.connect
def _on_retry(sender=None, **kwargs) -> None:
    _count(getattr(sender, "name", None), "retry")


def task_counts(task_names: list[str]) -> dict[tuple[str, str], int]:
    """(task, outcome) -> count so far, 0 for none."""
    keys = {
        counter_key(name, outcome): (name, outcome) for name in task_names for outcome in OUTCOMES
    }
    found = cache.get_many(list(keys)) if keys else {}
    return {pair: int(found.get(key) or 0) for key, pair in keys.items()}
