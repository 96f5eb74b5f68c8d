"""The registry: every provider the app integrates, by name, each declared once in its package
(``apps/integrations/providers/<name>/``, on base.py).

Adding a provider is one new package here plus its parser in ``attribution/sources/``, and its
name in :data:`_PACKAGES`. Webhooks, the sync, the ingestion, the admin, the forms and the
integrations page read providers from here and hold no per-provider branches.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from apps.integrations.providers.base import Provider, RecordHandler

# In the order the pages list them. The order is also each provider's number in the sync's
# advisory lock (sync._exclusive): append, never reorder.
_PACKAGES = ("calendly", "typeform", "close", "stripe", "whop")

REGISTRY: Mapping[str, Provider] = {
    provider.name: provider
    for provider in (
        importlib.import_module(f"{__name__}.{package}").PROVIDER for package in _PACKAGES
    )
}
PROVIDERS: tuple[str, ...] = tuple(REGISTRY)

# The credential names each provider's credentials go by (INTEGRATIONS.md; `set_credential`).
CREDENTIAL_NAMES: Mapping[str, tuple[str, ...]] = {
    name: provider.credential_names for name, provider in REGISTRY.items()
}

_HANDLERS: Mapping[type, RecordHandler] = {
    handler.record_type: handler for provider in REGISTRY.values() for handler in provider.records
}

_MISSING = object()


def provider_named(name: str, default=_MISSING) -> Provider:
    """The provider called ``name``; KeyError (or ``default``) for a name no package declares."""
    try:
        return REGISTRY[name]
    except KeyError:
        if default is _MISSING:
            raise
        return default


def record_handler(record: object) -> RecordHandler | None:
    """The handler of a parsed record's type, None for a type no provider declares."""
    return _HANDLERS.get(type(record))


def provider_choices() -> list[tuple[str, str]]:
    return [(name, provider.label) for name, provider in REGISTRY.items()]


__all__ = [
    "CREDENTIAL_NAMES",
    "PROVIDERS",
    "REGISTRY",
    "Provider",
    "RecordHandler",
    "provider_choices",
    "provider_named",
    "record_handler",
]
