"""The one HTTP client every provider client stands on (DESIGN.md: external HTTP).

A ``requests.Session`` with authentication, timeouts, pacing under the provider's documented limit,
retries with exponential backoff and full jitter on connection errors, timeouts and 5xx, and each
provider's own 429 rule. Errors are typed by whether trying again can help: ``AuthError`` (the
credential was refused; flag it), ``PermanentError`` (a 4xx a retry will not fix) and
``TransientError`` (retries exhausted; the next run picks up from the cursor).

``sleep`` and ``clock`` are injectable so tests assert the waits without sleeping.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from apps.integrations.errors import AuthError, PermanentError, ProviderError, TransientError

USER_AGENT = "attribution-sync/1.0"


class BaseClient:
    provider: str = ""
    base_url: str = ""
    # Requests per second this client paces itself to, under the documented limit.
    rate_per_second: float = 10.0
    timeout: tuple[float, float] = (5.0, 30.0)  # connect, read
    max_retries: int = 5  # on connection errors, timeouts and 5xx
    max_rate_limit_retries: int = 10  # on 429, each waiting what the provider said
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    # A 429 without a usable hint waits this long (then backs off).
    default_rate_limit_wait: float = 5.0

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        rate_per_second: float | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        max_retries: int | None = None,
    ):
        self.base_url = (base_url or self.base_url).rstrip("/")
        if rate_per_second is not None:
            self.rate_per_second = rate_per_second
        if max_retries is not None:
            self.max_retries = max_retries
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        self._authenticate(self.session, token)
        self.sleep = sleep
        self.clock = clock
        self.jitter = jitter
        self._next_request_at = 0.0
        self.requests_sent = 0
        self.waited_for_rate_limits = 0.0

    # --- per provider -------------------------------------------------------------------

    def _authenticate(self, session: requests.Session, token: str) -> None:
        session.headers["Authorization"] = f"Bearer {token}"

    def rate_limit_wait(self, response: requests.Response) -> float | None:
        """Seconds a 429 asks us to wait; providers override with their own header or body."""
        return retry_after(response)

    def after_response(self, response: requests.Response) -> None:
        """Hook for providers that announce their remaining budget on every response."""

    def refusal(self, response: requests.Response) -> ProviderError | None:
        """Hook for providers whose 4xx body says more than its status (an error code)."""
        return None

    def parse(self, response: requests.Response) -> Any:
        return response.json() if response.content else None

    def where(self, url: str) -> str:
        """How errors name a URL; a provider whose URL path is itself a secret overrides it."""
        return _path(url)

    # --- transport ----------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        failures = 0
        rate_limited = 0
        while True:
            self._pace()
            try:
                self.requests_sent += 1
                response = self.session.request(
                    method, url, params=params, json=json, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                failures += 1
                if failures > self.max_retries:
                    raise TransientError(
                        f"{self.provider}: {type(exc).__name__} on {method} {self.where(url)} "
                        f"after {failures} attempts"
                    ) from None
                self._wait(self._backoff(failures))
                continue

            status = response.status_code
            if status == 429:
                rate_limited += 1
                if rate_limited > self.max_rate_limit_retries:
                    raise TransientError(
                        f"{self.provider}: still rate limited on {self.where(url)} after "
                        f"{rate_limited} waits",
                        status=status,
                    )
                wait = self.rate_limit_wait(response)
                if wait is None:
                    wait = self.default_rate_limit_wait + self._backoff(rate_limited)
                self.waited_for_rate_limits += wait
                self._wait(wait)
                continue
            if status >= 500:
                failures += 1
                if failures > self.max_retries:
                    raise TransientError(
                        f"{self.provider}: HTTP {status} on {method} {self.where(url)} "
                        f"after {failures} attempts",
                        status=status,
                    )
                # A 503 may say when to come back; otherwise back off.
                hint = retry_after(response)
                self._wait(hint if hint is not None else self._backoff(failures))
                continue
            refused = self.refusal(response) if status >= 400 else None
            if refused is not None:
                raise refused
            if status in (401, 403):
                raise AuthError(
                    f"{self.provider} refused the credential (HTTP {status} on {self.where(url)}): "
                    "save a new key on the integrations page",
                    status=status,
                )
            if status >= 400:
                raise PermanentError(
                    f"{self.provider}: HTTP {status} on {method} {self.where(url)}: "
                    f"{_short(response.text)}",
                    status=status,
                )
            self.after_response(response)
            return self.parse(response)

    def _pace(self) -> None:
        now = self.clock()
        if now < self._next_request_at:
            self._wait(self._next_request_at - now)
            now = self._next_request_at
        self._next_request_at = max(now, self._next_request_at) + 1.0 / self.rate_per_second

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        # Full jitter (AWS architecture blog): spreads retries of many workers apart.
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return ceiling * (0.5 + self.jitter() / 2)

    def hold_off(self, seconds: float) -> None:
        """Push the next request back (a provider said its budget is spent)."""
        self._next_request_at = max(self._next_request_at, self.clock() + seconds)


def retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def float_or_none(value: object) -> float | None:
    try:
        return max(0.0, float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _path(url: str) -> str:
    # Never echo query strings: some providers accept tokens there.
    return requests.utils.urlparse(url).path


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Page:
    """One page of a list: its items, and the position to resume from once they are committed
    (None when the walk is over)."""

    __slots__ = ("items", "related", "resume")

    def __init__(self, items: list[Mapping[str, Any]], resume: dict[str, Any] | None):
        self.items = items
        self.resume = resume
        # What a caller fetched for these items before ingesting them (e.g. each event's invitees).
        self.related: list[Any] = []

    def __repr__(self):
        return f"Page({len(self.items)} items, resume={self.resume!r})"
