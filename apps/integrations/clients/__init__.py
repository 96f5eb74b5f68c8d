"""HTTP clients for the providers the nightly sync reads (one module per provider)."""

from apps.integrations.clients.base import (
    AuthError,
    BaseClient,
    Page,
    PermanentError,
    ProviderError,
    TransientError,
)

__all__ = [
    "AuthError",
    "BaseClient",
    "Page",
    "PermanentError",
    "ProviderError",
    "TransientError",
]
