"""Error texts a sync run keeps and shows: never the value a database or encoding error quotes."""

from django.db import DatabaseError


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
