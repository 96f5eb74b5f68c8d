"""Who a log line is about: request id, org, user, Celery task, provider (issue 25).

One contextvar holds the fields; :class:`RequestContextMiddleware` fills it per request, the
Celery signals below per task, and :class:`ContextFilter` (on the console handler) copies it onto
every record, so any ``logger.info`` anywhere carries them without being passed them.

Only ids and slugs go in here: a log line may be read by anyone who operates the service, and an
email or a name is personal data (see README, Personal data).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from typing import Any

from celery import signals
from django.utils.functional import empty

FIELDS = ("request_id", "org", "user_id", "task_id", "task_name", "provider")
REQUEST_ID_HEADER = "X-Request-ID"
# The Celery message header carrying the request id of whoever enqueued a task.
TASK_HEADER = "request_id"
# A proxy's or a provider's id is echoed into logs and a response header: a bounded token of
# safe characters only, so it can neither forge log lines nor carry a value.
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_context: ContextVar[dict[str, Any]] = ContextVar("log_context")


def current() -> dict[str, Any]:
    return _context.get({})


def bind(**fields: Any) -> Token:
    """Adds fields to the current context; the caller (or its middleware/task) resets it."""
    return _context.set({**current(), **fields})


def reset(token: Token) -> None:
    _context.reset(token)


@contextlib.contextmanager
def bound(**fields: Any) -> Iterator[None]:
    token = bind(**fields)
    try:
        yield
    finally:
        reset(token)


def carried(function: Callable[[], Any]) -> Callable[[], Any]:
    """``function`` to run later (``on_commit``) in the context it was made in: a task enqueued
    after the request's transaction commits still carries the request's id."""
    context = contextvars.copy_context()
    return lambda: context.run(function)


def sane_request_id(value: str | None) -> str | None:
    return value if value and _SANE_ID.fullmatch(value) else None


def new_request_id() -> str:
    return uuid.uuid4().hex


def _resolved(request, name: str) -> Any:
    """``request.user``/``request.org`` once something evaluated them, else None.

    Both are lazy (auth and OrgMiddleware): evaluating them from a log call could run queries
    from inside logging, so the filter only reads what the request already knows.
    """
    value = request.__dict__.get(name)
    wrapped = getattr(value, "_wrapped", value)
    return None if wrapped is empty else wrapped


class ContextFilter(logging.Filter):
    """Sets each context field on the record (only those known: text lines stay as they were)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current()
        request = context.get("request")
        if request is not None:
            user = _resolved(request, "user")
            if getattr(user, "is_authenticated", False) and "user_id" not in context:
                record.user_id = user.pk
            org = _resolved(request, "org")
            if org is not None and "org" not in context:
                record.org = org.slug
        for name in FIELDS:
            value = context.get(name)
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True


class RequestContextMiddleware:
    """First after SecurityMiddleware: every later middleware's log lines carry the id too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = sane_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id()
        request.request_id = request_id
        token = _context.set({"request_id": request_id, "request": request})
        try:
            response = self.get_response(request)
        finally:
            reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    from config.log_redaction import redact

    class _JsonFormatter(JsonFormatter):
        # It formats the traceback afresh instead of using the exc_text RedactResetKeys left.
        def formatException(self, ei) -> str:
            return redact(super().formatException(ei))

    # Record attributes that are not standard (the context fields, any ``extra=``) are added
    # by the formatter itself; these are renamed to the keys the log pipeline indexes.
    return _JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,
    )


# --- Celery ---------------------------------------------------------------------------------
# Tokens of the tasks running in this thread, innermost last: an eager task (and an eager
# retry, under the same task id) runs inside its caller's context, which postrun hands back.
_running = threading.local()


@signals.before_task_publish.connect
def _publish_request_id(headers=None, **kwargs) -> None:
    # Publishing happens in the request (or task) that enqueues: its id travels with the
    # message, so the worker's lines of a webhook carry the delivery's request id.
    request_id = current().get("request_id")
    if headers is not None and request_id and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


@signals.task_prerun.connect
def _task_started(task_id=None, task=None, **kwargs) -> None:
    # A worker reads the header from the message; an eager task inherits its caller's context.
    # A worker merges message headers into the request; apply(headers=...) nests them.
    headers = getattr(task.request, "headers", None) or {}
    request_id = sane_request_id(
        getattr(task.request, TASK_HEADER, None) or headers.get(TASK_HEADER)
    )
    fields = {"task_id": task_id, "task_name": task.name}
    if request_id:
        fields["request_id"] = request_id
    _running.__dict__.setdefault("tokens", []).append(bind(**fields))


@signals.task_postrun.connect
def _task_finished(task_id=None, **kwargs) -> None:
    tokens = _running.__dict__.get("tokens")
    if tokens:
        with contextlib.suppress(ValueError):  # set in another context: nothing to undo
            reset(tokens.pop())
