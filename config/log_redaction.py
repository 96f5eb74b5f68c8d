"""Password-reset keys never reach a log: the link's key is a credential until it is used.

allauth's reset link is ``/accounts/password/reset/key/<uid>-<key>/``; the request for it shows up
in the access log (gunicorn) and could in any log line quoting a path. Both are redacted here.
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger

_RESET_KEY = re.compile(r"(/password/reset/key/)[^/\s?#\"']+")
REDACTED = r"\1[redacted]"


def redact(text: str) -> str:
    return _RESET_KEY.sub(REDACTED, text)


class RedactResetKeys(logging.Filter):
    """For Django's handlers: rewrites a record whose message holds a reset key."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatters print exc_text when it is set: an exception's text can quote the path.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


class RedactingGunicornLogger(Logger):
    """gunicorn's logger with reset keys taken out of every access-log field (request line,
    path, referer, headers): gunicorn.conf.py names it."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}
