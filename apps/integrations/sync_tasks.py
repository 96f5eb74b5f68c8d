"""Celery entry points of the nightly sync (STYLE.md 10): ids in, one service call.

``sync_all_task`` is the beat entry (02:00 UTC, migration 0004): it enqueues one
``sync_provider_task`` per org holding a usable API credential, so a slow or failing provider
of one org never holds up the others.
"""

from __future__ import annotations

import logging

from celery import shared_task

from apps.integrations.models import Credential, SyncRun
from apps.integrations.sync import (
    SyncAlreadyRunning,
    SyncInterrupted,
    SyncNotConfigured,
    connected_integrations,
    sync_run,
)
from apps.orgs.models import Organization
from config import log_context

logger = logging.getLogger(__name__)

# Under the broker's three-hour visibility timeout, so Redis never hands a running sync to a
# second worker; a backfill that needs longer stops here and its next task resumes from the cursor.
SOFT_TIME_LIMIT = 2 * 3600 + 45 * 60
TIME_LIMIT = SOFT_TIME_LIMIT + 5 * 60


@shared_task
def sync_all_task() -> int:
    pairs = connected_integrations()
    for org_id, provider in pairs:
        sync_provider_task.delay(org_id, provider)
    return len(pairs)


@shared_task(bind=True, soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT, max_retries=3)
def sync_provider_task(self, org_id: int, provider: str, full: bool = False) -> int | None:
    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return None  # the org was deleted since it was enqueued
    with log_context.bound(org=org.slug, provider=provider):
        try:
            run = sync_run(org=org, provider=provider, full=full)
        except SyncNotConfigured as exc:
            logger.info("sync skipped: %s", exc)
            return None
        except SyncAlreadyRunning:
            return None  # the running one covers this request
        except SyncInterrupted as exc:
            # A long backfill hit the time limit with its cursor saved: carry on in a fresh task.
            sync_provider_task.delay(org_id, provider, full)
            return exc.run.pk
        if run.status != SyncRun.Status.FAILED:
            return run.pk
        if self.request.is_eager:
            # In-process (no broker): a retry would run at once, not in 15 minutes, making one
            # click four runs against a provider that is down. The nightly run tries again.
            return run.pk
        elif not Credential.objects.filter(
            org=org, provider=provider, rejected_at__isnull=False
        ).exists():
            # Provider trouble: try again later; the cursor keeps what was already done. A refused
            # credential is not retried: it waits for someone to save a new one.
            raise self.retry(countdown=15 * 60 * (self.request.retries + 1))
        return run.pk
