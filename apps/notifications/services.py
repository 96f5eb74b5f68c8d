"""Notifications: one ``notify()`` that renders a kind's message per channel, sends it and
records each delivery; and the writes around it (channel secrets, broken channels, the daily
report, reminders, alerts, statement links).

Idempotency: a delivery is unique per (org, kind, subject, period, target). ``notify`` takes
the row under a lock, skips it when already sent (or refused for good), and otherwise sends and
records the outcome, so a task retried after a partial failure posts only what is missing.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.integrations.clients.base import ProviderError, TransientError
from apps.integrations.models import Credential, SyncRun
from apps.notifications import selectors
from apps.notifications.messages import Message, email_parts, render, slack_message
from apps.notifications.models import Channel, Delivery, Kind
from apps.notifications.slack import SlackClient, SlackError
from apps.orgs import crypto
from apps.orgs.background import enqueue
from apps.orgs.models import ADMIN_ROLES, Membership, Organization, TeamMember, User
from apps.orgs.services import audit_log_write

logger = logging.getLogger(__name__)

WEBHOOK_PREFIX = "https://hooks.slack.com/"
BOT_TOKEN_PREFIX = "xoxb-"  # noqa: S105 (a prefix to check input against, not a secret)
FINAL = (Delivery.Status.SENT, Delivery.Status.FAILED)


class NotificationError(ValueError):
    pass


# --- channels -------------------------------------------------------------------------------


def channel_clean(*, channel: Channel, secret: str | None) -> None:
    """Raises ValidationError (per field) unless the channel can be saved with ``secret`` (a
    new webhook URL or bot token; None or blank keeps the stored one)."""
    secret = (secret or "").strip() or None
    if secret is not None:
        if channel.type == Channel.Type.SLACK_WEBHOOK and not secret.startswith(WEBHOOK_PREFIX):
            raise ValidationError({"secret": f"A Slack webhook URL starts with {WEBHOOK_PREFIX}"})
        if channel.type == Channel.Type.SLACK_BOT and not secret.startswith(BOT_TOKEN_PREFIX):
            raise ValidationError({"secret": "A Slack bot token starts with xoxb-."})
    if channel.is_slack and not (secret or channel.encrypted_secret):
        raise ValidationError({"secret": "Enter the webhook URL or bot token."})
    if channel.type == Channel.Type.SLACK_BOT and not channel.slack_channel.strip():
        raise ValidationError({"slack_channel": "A bot token posts to a channel id (C0123…)."})
    if channel.type == Channel.Type.EMAIL:
        if not channel.recipients:
            raise ValidationError({"email_to": "Enter at least one address."})
        for address in channel.recipients:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError({"email_to": f"{address!r} is not an address."}) from None
    unknown = [k for k in channel.kinds or [] if k not in Kind.values]
    if unknown:
        raise ValidationError({"kinds": f"Unknown kinds: {', '.join(unknown)}."})


def channel_save(*, channel: Channel, secret: str | None, actor: User | None) -> Channel:
    """Validates and saves a channel; a new ``secret`` is encrypted and clears a broken mark."""
    channel_clean(channel=channel, secret=secret)
    channel.full_clean(exclude=["kinds"])
    secret = (secret or "").strip() or None
    if secret is not None:
        channel.encrypted_secret = crypto.encrypt(secret)
        channel.secret_hint = secret[-4:]
        channel.broken_at, channel.broken_reason = None, ""
    with transaction.atomic():
        channel.save()
        # The audit row names the channel, never its secret.
        audit_log_write(
            org=channel.org,
            actor=actor,
            action="notifications.channel_save",
            target=channel,
            type=channel.type,
            kinds=list(channel.kinds),
            secret_changed=secret is not None,
        )
    return channel


def channel_mark_broken(*, channel: Channel, reason: str) -> None:
    """Slack says the webhook or token is gone: stop using the channel and tell the org's
    owners and admins by email (a broken Slack channel cannot carry its own alert)."""
    now = timezone.now()
    updated = Channel.objects.filter(pk=channel.pk, broken_at__isnull=True).update(
        broken_at=now, broken_reason=reason[:255]
    )
    channel.broken_at, channel.broken_reason = now, reason[:255]
    if not updated:
        return  # already marked (and alerted) by a concurrent delivery
    org = channel.org
    logger.warning("notification channel %s of %s broken: %s", channel.pk, org.slug, reason)
    notify(
        org=org,
        kind=Kind.CHANNEL_BROKEN,
        payload={
            "org": org.name,
            "channel": channel.name,
            "reason": reason,
            "url": selectors.site_url(
                reverse("admin:notifications_channel_change", args=[channel.pk])
            ),
        },
        subject=f"channel-{channel.pk}",
        period=now.isoformat(timespec="seconds"),
        email_to=_admin_emails(org),
    )


def channel_send_test(*, channel: Channel, actor: User | None, client_options=None) -> Delivery:
    org = channel.org
    if channel.broken_at is not None:
        raise NotificationError(
            f"{channel.name} is marked broken ({channel.broken_reason}): save a new secret first."
        )
    now = timezone.now()
    result = notify(
        org=org,
        kind=Kind.TEST,
        payload={"org": org.name, "channel": channel.name, "sender": getattr(actor, "email", "")},
        subject=f"channel-{channel.pk}",
        period=now.isoformat(),
        channels=[channel],
        client_options=client_options,
    )
    audit_log_write(org=org, actor=actor, action="notifications.channel_test", target=channel)
    return result.deliveries[0]


def _admin_emails(org: Organization) -> list[str]:
    return sorted(
        set(
            Membership.objects.filter(org=org, role__in=ADMIN_ROLES, user__is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )


# --- notify ---------------------------------------------------------------------------------


@dataclass
class NotifyResult:
    deliveries: list[Delivery] = field(default_factory=list)
    skipped: int = 0  # already sent (or refused for good) by an earlier run

    def count(self, status: str) -> int:
        return sum(1 for d in self.deliveries if d.status == status)

    @property
    def retry(self) -> bool:
        """Some delivery failed in a way a later attempt may fix (Slack down, SMTP timeout)."""
        return any(d.status == Delivery.Status.RETRYING for d in self.deliveries)


@dataclass(frozen=True)
class _Target:
    key: str  # Delivery.target
    channel: Channel | None
    slack_to: str = ""  # the bot's destination: a channel or a user id
    email_to: tuple[str, ...] = ()


def subscribed_channels(*, org: Organization, kind: str) -> list[Channel]:
    # Channels are few per org: filtering the kinds list here works on every database.
    return [
        c
        for c in Channel.objects.for_org(org).filter(active=True, broken_at__isnull=True)
        if kind in (c.kinds or [])
    ]


def bot_channel(*, org: Organization, kind: str) -> Channel | None:
    """The bot that sends DMs: one subscribed to the kind, else any working one of the org."""
    bots = list(
        Channel.objects.for_org(org)
        .filter(active=True, broken_at__isnull=True, type=Channel.Type.SLACK_BOT)
        .order_by("pk")
    )
    subscribed = [c for c in bots if kind in (c.kinds or [])]
    return (subscribed or bots or [None])[0]


def _targets(org, kind, channels, dm, email_to) -> list[_Target]:
    targets = []
    for channel in channels:
        key = f"channel:{channel.pk}"
        if channel.type == Channel.Type.EMAIL:
            targets.append(_Target(key, channel, email_to=tuple(channel.recipients)))
        else:
            targets.append(_Target(key, channel, slack_to=channel.slack_channel))
    if dm:
        bot = bot_channel(org=org, kind=kind)
        if bot is not None:
            targets += [_Target(f"dm:{bot.pk}:{uid}", bot, slack_to=uid) for uid in dm]
    targets += [
        _Target(f"email:{address.lower()}", None, email_to=(address,)) for address in email_to
    ]
    return targets


def notify(
    *,
    org: Organization,
    kind: str,
    payload: Mapping[str, Any],
    subject: str = "",
    period: str = "",
    channels: Sequence[Channel] | None = None,
    dm: Iterable[str] = (),
    email_to: Iterable[str] = (),
    client_options: Mapping[str, Any] | None = None,
) -> NotifyResult:
    """Sends ``kind`` to the org's channels subscribed to it (or to ``channels``), to Slack
    users by DM through the org's bot, and to ``email_to``; once per target for (kind,
    subject, period). ``client_options`` reach the Slack client (tests inject its sleep)."""
    if kind not in Kind.values:
        raise NotificationError(f"Unknown notification kind {kind!r}.")
    if channels is None:
        channels = subscribed_channels(org=org, kind=kind)
    message = render(kind, payload)
    result = NotifyResult()
    for target in _targets(org, kind, channels, [u for u in dm if u], [a for a in email_to if a]):
        with transaction.atomic():
            delivery, _ = Delivery.objects.get_or_create(
                org=org,
                kind=kind,
                subject=subject[:100],
                period=period[:40],
                target=target.key[:254],
                defaults={"channel": target.channel},
            )
            # The lock makes a concurrent run of the same task wait here, then see "sent".
            delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
            if delivery.status in FINAL:
                result.skipped += 1
                continue
            breaks = _deliver(delivery, target, message, client_options or {})
        if breaks:
            channel_mark_broken(channel=target.channel, reason=breaks)
        result.deliveries.append(delivery)
    return result


def _deliver(delivery: Delivery, target: _Target, message: Message, options) -> str | None:
    """Sends one delivery and records how it went; returns Slack's code when the answer means
    the channel itself is gone (the caller marks it broken)."""
    breaks = None
    delivery.attempts += 1
    try:
        if target.email_to:
            subject, text, html = email_parts(message)
            send_mail(subject, text, None, list(target.email_to), html_message=html)
        else:
            _post_slack(target, message, options)
    except SlackError as exc:
        delivery.status, delivery.error = Delivery.Status.FAILED, str(exc)
        dm = target.key.startswith("dm:")
        # A DM's "channel_not_found" is a wrong user id, not a dead bot.
        if exc.token_gone or (exc.channel_gone and not dm):
            breaks = exc.code
    except TransientError as exc:
        delivery.status, delivery.error = Delivery.Status.RETRYING, str(exc)
    except ProviderError as exc:
        delivery.status, delivery.error = Delivery.Status.FAILED, str(exc)
    except (smtplib.SMTPException, OSError) as exc:
        # Never the exception's text: an SMTP answer may quote an address or a credential.
        delivery.status = Delivery.Status.RETRYING
        delivery.error = f"email not sent: {type(exc).__name__}"
    except ImproperlyConfigured as exc:
        delivery.status, delivery.error = Delivery.Status.FAILED, str(exc)
    else:
        delivery.status, delivery.error = Delivery.Status.SENT, ""
        delivery.sent_at = timezone.now()
    delivery.error = delivery.error[:500]
    delivery.save(update_fields=["status", "error", "attempts", "sent_at"])
    return breaks


def _post_slack(target: _Target, message: Message, options) -> None:
    channel = target.channel
    secret = crypto.decrypt(channel.encrypted_secret)
    if channel.type == Channel.Type.SLACK_WEBHOOK:
        client = SlackClient(webhook_url=secret, **options)
    else:
        client = SlackClient(bot_token=secret, **options)
    client.post(slack_message(message), channel=target.slack_to)


# --- the daily report and reminders ---------------------------------------------------------


def daily_report_send(
    *, org: Organization, day: date, client_options: Mapping[str, Any] | None = None
) -> NotifyResult:
    """Yesterday's report (``day``, org-local) to the subscribed channels, and with it each
    rep's overdue-PCF reminder when the org wants them."""
    result = notify(
        org=org,
        kind=Kind.DAILY_REPORT,
        payload=selectors.daily_report_payload(org=org, day=day),
        subject="org",
        period=day.isoformat(),
        client_options=client_options,
    )
    if selectors.notification_settings(org=org).pcf_reminders:
        for reminder in pcf_reminders_send(org=org, day=day, client_options=client_options):
            result.deliveries += reminder.deliveries
            result.skipped += reminder.skipped
    return result


def pcf_reminders_send(
    *, org: Organization, day: date, client_options: Mapping[str, Any] | None = None
) -> list[NotifyResult]:
    """One reminder per rep owing overdue PCFs: a Slack DM when their Slack user is known and
    the org has a bot, otherwise a post in the channels subscribed to reminders."""
    results = []
    has_bot = bot_channel(org=org, kind=Kind.PCF_OVERDUE) is not None
    for member, payload, slack_user in selectors.pcf_reminder_payloads(org=org):
        by_dm = bool(slack_user) and has_bot
        results.append(
            notify(
                org=org,
                kind=Kind.PCF_OVERDUE,
                payload=payload,
                subject=f"member-{member.pk}",
                period=day.isoformat(),
                channels=[] if by_dm else None,
                dm=[slack_user] if by_dm else (),
                client_options=client_options,
            )
        )
    return results


# --- alerts ---------------------------------------------------------------------------------


def sync_run_alert(*, run: SyncRun) -> None:
    """Called by the sync when a run ends: a failed run (or a refused credential) is announced
    once per provider and day, in a task after the run's commit, so Slack never slows a sync.
    Never raises: an alert must not turn a recorded failure into a crash of the sync."""
    if run.status != SyncRun.Status.FAILED:
        return
    try:
        _sync_run_alert(run)
    except Exception:
        logger.exception("could not announce the failed sync run %s", run.pk)


def _sync_run_alert(run: SyncRun) -> None:
    org = run.org
    refused = (
        Credential.objects.for_org(org)
        .filter(provider=run.provider, rejected_at__gte=run.started_at)
        .order_by("-rejected_at")
        .first()
    )
    payload = {
        "org": org.name,
        "provider": run.provider,
        "error": run.error[:300],
        "url": selectors.site_url(reverse("integrations:page")),
    }
    if refused is not None:
        kind, period = Kind.CREDENTIAL_REFUSED, refused.rejected_at.isoformat()
    else:
        kind, period = Kind.SYNC_FAILED, timezone.localdate(timezone=org.tzinfo).isoformat()
    if not subscribed_channels(org=org, kind=kind):
        return
    from apps.notifications.tasks import notify_task  # the tasks module imports this one

    transaction.on_commit(lambda: enqueue(notify_task, org.pk, kind, payload, run.provider, period))


def ops_alerts_check(*, org: Organization, now: datetime | None = None) -> list[NotifyResult]:
    """Webhook rejections above the org's threshold today (once per provider and day) and an
    inbox backlog older than its limit (once per hour)."""
    now = now or timezone.now()
    config = selectors.notification_settings(org=org)
    results = []
    url = selectors.site_url(reverse("integrations:page"))
    for provider, count in selectors.webhook_rejections_today(org=org, now=now):
        if count > config.webhook_rejection_threshold:
            results.append(
                notify(
                    org=org,
                    kind=Kind.WEBHOOK_REJECTIONS,
                    payload={
                        "org": org.name,
                        "provider": provider,
                        "count": count,
                        "threshold": config.webhook_rejection_threshold,
                        "url": url,
                    },
                    subject=provider,
                    period=now.date().isoformat(),
                )
            )
    pending, age_minutes = selectors.inbox_backlog(org=org, now=now)
    if pending and age_minutes > config.inbox_backlog_minutes:
        results.append(
            notify(
                org=org,
                kind=Kind.INBOX_BACKLOG,
                payload={
                    "org": org.name,
                    "pending": pending,
                    "age_minutes": int(age_minutes),
                    "limit": config.inbox_backlog_minutes,
                    "url": url,
                },
                subject="inbox",
                period=now.strftime("%Y-%m-%dT%H"),
            )
        )
    return results


# --- commission statements -------------------------------------------------------------------


def statement_links_send(
    *,
    org: Organization,
    members: Iterable[TeamMember],
    actor: User | None,
    client_options: Mapping[str, Any] | None = None,
) -> tuple[int, list[str]]:
    """Each rep gets a signed, expiring link to their own statement by email, and by Slack DM
    when their Slack user is known (never in a shared channel: the link is theirs alone).
    Returns (reps reached, names of those with neither an email nor a Slack user)."""
    from apps.meetings.statements import statement_link_max_age, statement_link_url

    days = statement_link_max_age().days
    period = timezone.now().isoformat(timespec="minutes")  # a double click sends once
    reached, unreachable = 0, []
    for member in members:
        if member.org_id != org.pk:
            raise NotificationError("This rep belongs to another organisation.")
        email = member.email or (member.user.email if member.user_id else "")
        slack_user = selectors.slack_user_id(member=member)
        if not email and not slack_user:
            unreachable.append(member.name)
            continue
        with transaction.atomic():
            notify(
                org=org,
                kind=Kind.COMMISSION_STATEMENT,
                payload={
                    "org": org.name,
                    "member": member.name,
                    "days": days,
                    "url": selectors.site_url(statement_link_url(member=member)),
                },
                subject=f"member-{member.pk}",
                period=period,
                channels=[],
                dm=[slack_user] if slack_user else (),
                email_to=[email] if email else (),
                client_options=client_options,
            )
            audit_log_write(
                org=org, actor=actor, action="payout.statement_link_send", target=member
            )
        reached += 1
    return reached, unreachable
