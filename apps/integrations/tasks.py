"""Webhook processing tasks (thin: an id in, one service call). The sync's are in sync_tasks.py."""

from celery import shared_task

from apps.integrations import webhooks


@shared_task(
    bind=True,
    # Acknowledged after the run, and handed back to the queue when the worker dies mid-run:
    # the service's row lock and status check make a second run a no-op.
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=webhooks.MAX_ATTEMPTS - 1,
)
def process_webhook_event(self, event_pk: int) -> str | None:
    final = self.request.retries >= self.max_retries
    try:
        outcome = webhooks.webhook_event_process(event_pk=event_pk, final=final)
    except webhooks.PermanentError:
        return "failed"  # recorded on the row, replayable from admin; retrying cannot help
    except Exception as exc:
        if final:
            return "failed"
        # webhook_event_process raises only value-free exceptions; "from None" keeps the
        # traceback Celery logs and stores free of anything chained to them.
        raise self.retry(exc=exc, countdown=webhooks.retry_delay(self.request.retries)) from None
    return None if outcome is None else str(outcome)


@shared_task
def requeue_stale_webhook_events() -> int:
    """Every few minutes (beat): enqueue inbox rows the queue lost (crash, broker outage)."""
    return webhooks.webhook_events_requeue()
