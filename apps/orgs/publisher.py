"""Publishing a Celery task after a response is sent, from a thread of the web process.

An acknowledgement must say "stored", not "queued": the inbox row is the outbox, and a row that
never reached the broker (a crash, a broker outage) is published again by the requeue sweep.
So the publish, a broker round trip and kombu's bookkeeping that cost as much as the row's
INSERT, need not hold up the response. ``publish_soon`` hands it to one daemon thread per
process; gunicorn's ``worker_exit`` hook (gunicorn.conf.py) drains what is left on a graceful
stop. With tasks eager (tests, ``make run``) it publishes at once, as ``delay`` always did.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable

from celery import current_app
from django.conf import settings

from config import log_context

logger = logging.getLogger(__name__)

_queue: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
_thread: threading.Thread | None = None
_owner_pid: int | None = None
_start_lock = threading.Lock()


def publish_soon(task, *args) -> None:
    """``task.delay(*args)``, off the calling thread when publishing may wait.

    Failures are logged, never raised: the caller has already stored what the task reads and
    answered for it.
    """
    send = log_context.carried(lambda: task.delay(*args))
    if current_app.conf.task_always_eager or not settings.PUBLISH_IN_BACKGROUND:
        _send(send)
        return
    _ensure_thread()
    _queue.put(send)


def drain(timeout: float = 5.0) -> None:
    """Publish everything queued in this process, waiting up to ``timeout`` seconds."""
    thread = _thread
    if thread is None or _owner_pid != os.getpid() or not thread.is_alive():
        return
    _queue.put(None)
    thread.join(timeout)


def _ensure_thread() -> None:
    global _thread, _owner_pid
    pid = os.getpid()
    # A forked child inherits the parent's thread object but not the thread: start its own.
    if _thread is not None and _owner_pid == pid and _thread.is_alive():
        return
    with _start_lock:
        if _thread is not None and _owner_pid == pid and _thread.is_alive():
            return
        _owner_pid = pid
        _thread = threading.Thread(target=_loop, name="task publisher", daemon=True)
        _thread.start()


def _loop() -> None:
    while True:
        send = _queue.get()
        if send is None:
            return
        _send(send)


def _send(send: Callable[[], object]) -> None:
    try:
        send()
    except Exception:
        # The row stays pending; webhook_events_requeue publishes it again.
        logger.warning("task publish failed; the requeue sweep will retry it", exc_info=True)
