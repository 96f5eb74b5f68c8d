"""Slack over plain HTTP, on the shared client base (retries, typed errors, injectable sleep).

Two ways in: an incoming webhook (``POST`` the message to its URL; the URL is the secret, so
errors never quote it) and a bot token (``chat.postMessage`` to a channel id, or to a user id
for a DM). Slack's rate rule is the base client's 429 rule: wait exactly ``Retry-After``.

Refusals: a webhook answers 4xx with a plain-text code (``no_service``, ``channel_not_found``,
``invalid_token``, ``channel_is_archived``...); the Web API answers 200 with
``{"ok": false, "error": code}``. Either becomes a ``SlackError`` saying whether the token
(or webhook) is gone, the channel is gone, or only this message was refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from apps.integrations.clients.base import BaseClient, PermanentError

# The webhook or token no longer exists or was revoked: nothing sent with it will arrive.
TOKEN_GONE = frozenset(
    {
        "invalid_token",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "no_service",
        "no_service_id",
        "no_active_hooks",
        "no_team",
        "team_disabled",
        "team_not_found",
    }
)
# The channel it posts to was deleted or archived, or the app was removed from it.
CHANNEL_GONE = frozenset(
    {"channel_not_found", "channel_is_archived", "is_archived", "not_in_channel", "user_not_found"}
)


class SlackError(PermanentError):
    def __init__(self, code: str, *, status: int | None = None):
        super().__init__(f"Slack refused the message: {code}", status=status)
        self.code = code

    @property
    def token_gone(self) -> bool:
        return self.code in TOKEN_GONE

    @property
    def channel_gone(self) -> bool:
        # A webhook's 404/410 means its channel or the webhook itself is gone, whatever the code.
        return self.code in CHANNEL_GONE or self.status in (404, 410)


def _code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        return str(body.get("error") or "unknown_error")[:64]
    text = "".join(response.text.split())[:64]
    return text if text.replace("_", "").isalnum() else "unknown_error"


class SlackClient(BaseClient):
    provider = "slack"
    base_url = "https://slack.com/api"
    # Slack allows about one message per second per channel; a burst gets a 429 with
    # Retry-After, which the base waits out exactly.
    rate_per_second = 1.0
    max_retries = 3
    max_rate_limit_retries = 3

    def __init__(self, *, webhook_url: str = "", bot_token: str = "", **options: Any):
        self.webhook_url = webhook_url
        super().__init__(bot_token, **options)

    def _authenticate(self, session: requests.Session, token: str) -> None:
        if token:  # a webhook carries its credential in its URL
            session.headers["Authorization"] = f"Bearer {token}"

    def where(self, url: str) -> str:
        return (
            "the incoming webhook"
            if self.webhook_url and url == self.webhook_url
            else super().where(url)
        )

    def refusal(self, response: requests.Response) -> SlackError:
        return SlackError(_code(response), status=response.status_code)

    def parse(self, response: requests.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            return response.text  # a webhook answers "ok"
        if isinstance(body, Mapping) and body.get("ok") is False:
            raise SlackError(str(body.get("error") or "unknown_error")[:64], status=200)
        return body

    def post(self, message: Mapping[str, Any], *, channel: str = "") -> Any:
        """To the webhook, or with the bot token to ``channel`` (a channel or a user id)."""
        if self.webhook_url:
            return self.request("POST", self.webhook_url, json=dict(message))
        return self.request("POST", "/chat.postMessage", json={"channel": channel, **message})
