"""Celery entry points of the notifications (STYLE.md 10): ids in, one service call.

``notifications_tick_task`` is the beat entry (every 15 minutes, migration 0002): it enqueues
the daily report of each org whose local report time has passed and whose report is not sent
yet, and the webhook alert checks of the orgs subscribed to them. A delivery that failed in a
way a later attempt may fix makes the task retry; the retry posts only what is missing.
"""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.db import OperationalError

from apps.notifications import selectors, services
from apps.orgs.models import Organization

RETRY = {"max_retries": 4}
RETRY_COUNTDOWN = 5 * 60


def _retry_if_needed(task, results) -> None:
    if any(r.retry for r in results):
        raise task.retry(countdown=RETRY_COUNTDOWN * (task.request.retries + 1))


@shared_task
def notifications_tick_task() -> int:
    due = selectors.daily_report_due()
    for org_id, day in due:
        daily_report_task.delay(org_id, day.isoformat())
    watching = selectors.orgs_watching_ops()
    for org_id in watching:
        ops_alerts_task.delay(org_id)
    return len(due) + len(watching)


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, **RETRY)
def daily_report_task(self, org_id: int, day: str) -> int:
    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return 0
    result = services.daily_report_send(org=org, day=date.fromisoformat(day))
    _retry_if_needed(self, [result])
    return len(result.deliveries)


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, **RETRY)
def ops_alerts_task(self, org_id: int) -> int:
    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return 0
    results = services.ops_alerts_check(org=org)
    _retry_if_needed(self, results)
    return sum(len(r.deliveries) for r in results)


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, **RETRY)
def notify_task(self, org_id: int, kind: str, payload: dict, subject: str, period: str) -> int:
    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return 0
    result = services.notify(org=org, kind=kind, payload=payload, subject=subject, period=period)
    _retry_if_needed(self, [result])
    return len(result.deliveries)
