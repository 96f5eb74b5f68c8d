"""Thin Celery wrappers around the rollup services (STYLE.md 10): ids in, one service call."""

from datetime import date

from celery import shared_task
from django.db import OperationalError

from apps.kpis.services import rollup_rebuild, rollup_refresh_days, rollup_refresh_release
from apps.orgs.models import Organization


@shared_task(
    autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5
)
def rollup_refresh_days_task(org_id: int, days: list[str]) -> int:
    parsed = [date.fromisoformat(day) for day in days]
    rollup_refresh_release(org_id=org_id, days=parsed)
    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return 0  # the org was deleted since: nothing to roll up
    return rollup_refresh_days(org=org, days=parsed)


@shared_task(
    autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=3
)
def rollup_rebuild_task(org_id: int) -> int:
    org = Organization.objects.filter(pk=org_id).first()
    return rollup_rebuild(org=org) if org is not None else 0


@shared_task
def rollup_rebuild_nightly() -> int:
    """Beat entry point: one rebuild task per org, so one slow org does not hold up the rest."""
    org_ids = list(Organization.objects.values_list("pk", flat=True))
    for org_id in org_ids:
        rollup_rebuild_task.delay(org_id)
    return len(org_ids)
