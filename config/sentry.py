"""Optional error reporting to Sentry (issue 25): off unless ``SENTRY_DSN`` is set.

An error event leaves the installation, so it carries no personal data: no request body, no
cookies, only headers that say nothing about a person, no user email (ids stay: they identify a
row, not a person), no frame variables, and anything in a message that looks like an email or a
phone number masked. A name in free text cannot be recognised: the app's own exceptions name
fields and ids, never values (webhooks._error_text), which is what keeps names out.
"""

from __future__ import annotations

import re
from typing import Any

SAFE_HEADERS = frozenset(
    {"accept", "content-type", "content-length", "host", "user-agent", "x-request-id"}
)
MASK = "[redacted]"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Nine or more digits, optionally led by + and broken by spaces, dots, dashes or brackets: a
# phone number as a person would type it. Ids and amounts in messages are shorter or unbroken
# hex, and a masked id costs less than a leaked number.
_PHONE = re.compile(r"\+?\(?\d(?:[\s().-]{0,2}\d){8,}")


def mask(text: str) -> str:
    return _PHONE.sub(MASK, _EMAIL.sub(MASK, text))


def _mask_strings(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list | tuple):
        return [_mask_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: _mask_strings(v) for k, v in value.items()}
    return value


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's ``before_send``: returns the event without personal data."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string", "env"):
            request.pop(key, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                name: value for name, value in headers.items() if name.lower() in SAFE_HEADERS
            }
        if isinstance(request.get("url"), str):
            request["url"] = mask(request["url"])
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {k: v for k, v in user.items() if k == "id"}
    if isinstance(event.get("message"), str):
        event["message"] = mask(event["message"])
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        for key in ("message", "formatted"):
            if isinstance(logentry.get(key), str):
                logentry[key] = mask(logentry[key])
        if "params" in logentry:
            logentry["params"] = _mask_strings(logentry["params"])
    for exception in (event.get("exception") or {}).get("values") or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = mask(exception["value"])
        # A frame's local variables hold whatever the code was handling: payloads, emails.
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    breadcrumbs = event.get("breadcrumbs")
    crumbs = breadcrumbs.get("values") if isinstance(breadcrumbs, dict) else breadcrumbs
    for crumb in crumbs or []:
        if isinstance(crumb.get("message"), str):
            crumb["message"] = mask(crumb["message"])
        crumb.pop("data", None)
    return event


def sentry_init(*, dsn: str, environment: str, release: str) -> bool:
    """Starts the SDK when a DSN is given; True when it did."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub,
        before_send_transaction=scrub,
    )
    return True
