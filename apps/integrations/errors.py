"""The integrations' error types, and the error texts a sync run keeps and shows.

One hierarchy says whether trying again can help (STYLE.md 5): ``PermanentError`` (no retry
heals it: a request the provider refuses, an inbox event that can never be applied; failed at
once), ``AuthError`` (a permanent refusal of the credential: flag it) and ``TransientError``
(the provider kept failing after every retry; the next attempt picks up where this one stopped).
"""

from django.db import DatabaseError


class ProviderError(Exception):
    retryable = False

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class PermanentError(ProviderError):
    """Can never succeed as it is: a request the provider will refuse however often it is sent
    (400, 404, 422...), or a webhook event no retry makes applicable (failed, replayable)."""


class AuthError(PermanentError):
    """401/403: the credential is wrong, revoked or lacks a scope."""


class TransientError(ProviderError):
    """The provider kept failing (5xx, 429, timeouts) after every retry."""

    retryable = True


class SyncError(Exception):
    """A sync could not run, or stopped: the walk stops at the last page committed."""


def run_error_text(exc: BaseException) -> str:
    """``Class: message``, except for a database or encoding error, which quotes the value it
    choked on (a person's name, an email): only its class and SQLSTATE are kept. The other
    errors are the app's own or a provider's, and name no person."""
    name = type(exc).__name__
    if isinstance(exc, DatabaseError | UnicodeError):
        sqlstate = getattr(exc.__cause__, "sqlstate", None) or getattr(exc, "sqlstate", None)
        return f"{name} (SQLSTATE {sqlstate})" if sqlstate else f"{name} (message withheld)"
    return f"{name}: {exc}"[:2000]


def quotes_values(exc: BaseException) -> bool:
    """Whether the exception's message (and so its traceback) may quote a person's data."""
    return isinstance(exc, DatabaseError | UnicodeError)
