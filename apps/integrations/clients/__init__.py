"""The one base HTTP client (base.py) and its error types; each provider's client is in its package
(apps/integrations/providers/<name>/client.py)."""

from apps.integrations.clients.base import BaseClient, Page
from apps.integrations.errors import AuthError, PermanentError, ProviderError, TransientError

__all__ = [
    "AuthError",
    "BaseClient",
    "Page",
    "PermanentError",
    "ProviderError",
    "TransientError",
]
