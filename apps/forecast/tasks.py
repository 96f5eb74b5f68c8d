"""Thin Celery wrappers around the forecast services (STYLE.md 10): ids in, one service call."""

from celery import shared_task
from django.db import OperationalError

from apps.forecast.services import forecast_train
from apps.orgs.models import Organization


@shared_task(
    autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=3
)
def forecast_train_task(org_id: int) -> int | None:
    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return None  # the org was deleted since
    return forecast_train(org=org).version


@shared_task
def forecast_train_nightly() -> int:
    """Beat entry point: one training per org, so one large org does not hold up the rest."""
    org_ids = list(Organization.objects.values_list("pk", flat=True))
    for org_id in org_ids:
        forecast_train_task.delay(org_id)
    return len(org_ids)
