"""Thin Celery wrappers around the journey and attribution services (STYLE.md 10)."""

from datetime import date

from celery import shared_task
from django.db import OperationalError

from apps.orgs.models import Organization


@shared_task(
    autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5
)
def journeys_refresh_task(org_id: int, contact_ids: list[int]) -> int:
    from apps.marketing.services import journey_state_bump, journeys_refresh_contacts

    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return 0
    if not contact_ids:
        journey_state_bump(org=org)
        return 0
    return journeys_refresh_contacts(org=org, contact_ids=contact_ids)


@shared_task(
    autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=3
)
def journeys_rebuild_task(org_id: int) -> int:
    from apps.marketing.services import journeys_rebuild

    org = Organization.objects.filter(pk=org_id).first()
    return journeys_rebuild(org=org) if org is not None else 0


@shared_task
def journeys_rebuild_nightly() -> int:
    """Beat entry point: one rebuild task per org."""
    org_ids = list(Organization.objects.values_list("pk", flat=True))
    for org_id in org_ids:
        journeys_rebuild_task.delay(org_id)
    return len(org_ids)


@shared_task(
    autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=3
)
def attribution_compute_task(
    org_id: int, start: str, end: str, model: str, value: str, lookback_days: int
) -> bool:
    """Computes one data-driven result and caches it (the page polls until it is there)."""
    from apps.marketing.selectors import Query, attribution_result

    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return False
    query = Query(
        start=date.fromisoformat(start),
        end=date.fromisoformat(end),
        model=model,
        value=value,
        lookback_days=lookback_days,
    )
    attribution_result(org=org, query=query, compute=True)
    return True
