"""Starting a Celery task from a request without making the request wait for it.

With a broker the task is queued. Without one (`make run`: tasks run in-process) ``delay`` would
run a sync of a few minutes inside the request that pressed "Sync now"; a thread runs it instead,
and the page polls its progress as it does with a worker.
"""

import logging
import threading

from celery import current_app
from django.conf import settings
from django.db import connections

from config import log_context

logger = logging.getLogger(__name__)


def enqueue(task, *args) -> None:
    if current_app.conf.task_always_eager and settings.EAGER_TASKS_IN_THREAD:
        # A thread starts with an empty context: carried() keeps the request's id on its lines.
        thread = threading.Thread(
            target=log_context.carried(lambda: _run(task, args)),
            name=f"task {task.name}",
            daemon=True,
        )
        thread.start()
        return
    task.delay(*args)


def _run(task, args) -> None:
    try:
        task.apply(args=args)
    except Exception:
        logger.exception("background task %s failed", task.name)
    finally:
        # This thread's own database connections, which no request cycle will close.
        connections.close_all()
