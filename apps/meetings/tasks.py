"""Thin Celery wrappers around the meeting services (STYLE.md 10): ids in, one service call."""

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from apps.meetings import selectors, services
from apps.orgs.models import Organization

RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(**RETRY)
def org_recompute_showed_task(org_id: int) -> int:
    org = Organization.objects.filter(pk=org_id).first()
    return services.org_recompute_showed(org=org) if org is not None else 0


@shared_task
def pcf_overdue_digests_task() -> int:
    """Hourly (beat): fan out one digest task per org."""
    org_ids = list(Organization.objects.values_list("pk", flat=True))
    for org_id in org_ids:
        pcf_overdue_digest_org_task.delay(org_id)
    return len(org_ids)


@shared_task(**RETRY)
def pcf_overdue_digest_org_task(org_id: int) -> int:
    """One email per rep listing every overdue PCF they owe (never one email per call)."""
    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return 0
    base_url = settings.SITE_URL
    sent = 0
    for group in selectors.pcf_overdue_by_rep(org=org):
        if group.member is not None and services.pcf_remind(
            org=org, member=group.member, meetings=group.meetings, base_url=base_url, actor=None
        ):
            sent += 1
    return sent
