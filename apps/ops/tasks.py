from celery import shared_task

from apps.ops.health import beat_heartbeat_record


@shared_task
def beat_heartbeat_task() -> None:
    # Written by a worker, so a fresh beat is proof that beat, the broker and a worker of the
    # default queue all move.
    beat_heartbeat_record()
