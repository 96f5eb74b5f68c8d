"""One template per kind: a kind's payload (plain JSON, as tasks carry it) becomes a ``Message``,
which renders per channel as Slack Block Kit blocks or as an email's text and HTML.

Payloads hold figures already formatted by the code that owns them (the dashboard's own
formatter for the daily report), so every channel shows the same text as the page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string

from apps.notifications.models import Kind


@dataclass(frozen=True)
class Message:
    title: str
    intro: str = ""
    facts: tuple[tuple[str, str], ...] = ()
    # Lines of a list, each with an optional link (an overdue PCF and its form).
    items: tuple[tuple[str, str], ...] = ()
    link: tuple[str, str] | None = None  # (label, absolute URL)
    footer: str = ""
    extra: dict = field(default_factory=dict)


# --- Slack ----------------------------------------------------------------------------------


def _mrkdwn(text: str) -> str:
    # Slack's three control characters (api.slack.com/reference/surfaces/formatting#escaping).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, text: str) -> str:
    return f"<{url}|{_mrkdwn(text)}>" if url else _mrkdwn(text)


def slack_blocks(message: Message) -> list[dict]:
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}}
    ]
    if message.intro:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(message.intro)}}
        )
    facts = [
        {"type": "mrkdwn", "text": f"*{_mrkdwn(label)}*\n{_mrkdwn(value)}"}
        for label, value in message.facts
    ]
    for start in range(0, len(facts), 10):  # a section holds at most ten fields
        blocks.append({"type": "section", "fields": facts[start : start + 10]})
    lines = [f"• {_link(url, text)}" for text, url in message.items]
    chunk: list[str] = []
    for line in lines:  # a text object holds at most 3000 characters
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
    if message.link:
        label, url = message.link
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}
                ],
            }
        )
    if message.footer:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _mrkdwn(message.footer)}]}
        )
    return blocks[:50]  # Slack's limit per message


def slack_message(message: Message) -> dict:
    # ``text`` is the notification's fallback (push notifications, screen readers).
    return {"text": message.title, "blocks": slack_blocks(message)}


# --- email ----------------------------------------------------------------------------------


def email_parts(message: Message) -> tuple[str, str, str]:
    """(subject, text, HTML) from the one pair of email templates."""
    context = {"message": message}
    return (
        message.title,
        render_to_string("notifications/message.txt", context),
        render_to_string("notifications/message.html", context),
    )


# --- the template of each kind ---------------------------------------------------------------


def _facts(payload: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((str(label), str(value)) for label, value in payload.get("facts", []))


def _items(payload: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((str(text), str(url or "")) for text, url in payload.get("items", []))


def _link_of(payload: Mapping[str, Any], label: str) -> tuple[str, str] | None:
    return (label, payload["url"]) if payload.get("url") else None


def _daily_report(p):
    return Message(
        title=f"Daily report for {p['org']}: {p['day_label']}",
        facts=_facts(p),
        link=_link_of(p, "Open the dashboard"),
        footer=f"Yesterday in {p['timezone']}, the same figures as the dashboard for that day.",
    )


def _pcf_overdue(p):
    count = len(p.get("items", []))
    return Message(
        title=f"{p['member']}: {count} overdue post-call form{'s' if count != 1 else ''}",
        intro="Fill these in while the calls are fresh:",
        items=_items(p),
        link=_link_of(p, "Open my calls"),
    )


def _sync_failed(p):
    return Message(
        title=f"{p['org']}: the {p['provider']} sync failed",
        intro=p.get("error", ""),
        link=_link_of(p, "Open the integrations page"),
        footer="The next run resumes from where this one stopped.",
    )


def _credential_refused(p):
    return Message(
        title=f"{p['org']}: {p['provider']} refused the saved credential",
        intro=(
            f"{p.get('error', '')} Syncs of {p['provider']} are paused until someone saves a new "
            "key on the integrations page."
        ).strip(),
        link=_link_of(p, "Open the integrations page"),
    )


def _webhook_rejections(p):
    return Message(
        title=f"{p['org']}: {p['count']} {p['provider']} webhooks rejected today",
        intro=(
            f"More than {p['threshold']} deliveries failed their signature check or were "
            "malformed. A rotated signing secret that was not saved here is the usual cause."
        ),
        link=_link_of(p, "Open the integrations page"),
    )


def _inbox_backlog(p):
    return Message(
        title=f"{p['org']}: webhooks waiting {p['age_minutes']} minutes",
        intro=(
            f"{p['pending']} webhook event(s) are pending, the oldest for {p['age_minutes']} "
            f"minutes (alert after {p['limit']}). Are the workers running?"
        ),
        link=_link_of(p, "Open the integrations page"),
    )


def _commission_statement(p):
    return Message(
        title=f"Your commission statement at {p['org']}",
        intro=(
            f"Hello {p['member']}, your commission lines of every payout and of the running "
            f"period are here. The link works for {p['days']} days and only for you."
        ),
        link=_link_of(p, "Open my statement"),
    )


def _channel_broken(p):
    return Message(
        title=f"{p['org']}: the notification channel {p['channel']} stopped working",
        intro=(
            f"Slack answered {p['reason']}: the webhook or token was revoked, or its channel "
            "was deleted. Nothing is sent there until a new one is saved in the admin."
        ),
        link=_link_of(p, "Open the channel in the admin"),
    )


def _test(p):
    return Message(
        title=f"Test message from {p['org']}",
        intro=f"The channel {p['channel']} works. Sent by {p.get('sender') or 'an admin'}.",
    )


TEMPLATES: dict[str, Callable[[Mapping[str, Any]], Message]] = {
    Kind.DAILY_REPORT: _daily_report,
    Kind.PCF_OVERDUE: _pcf_overdue,
    Kind.SYNC_FAILED: _sync_failed,
    Kind.CREDENTIAL_REFUSED: _credential_refused,
    Kind.WEBHOOK_REJECTIONS: _webhook_rejections,
    Kind.INBOX_BACKLOG: _inbox_backlog,
    Kind.COMMISSION_STATEMENT: _commission_statement,
    Kind.CHANNEL_BROKEN: _channel_broken,
    Kind.TEST: _test,
}


def render(kind: str, payload: Mapping[str, Any]) -> Message:
    return TEMPLATES[kind](payload)
