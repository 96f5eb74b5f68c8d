"""Notification channels (Slack, email), the per-org settings of the scheduled kinds, reps'
Slack users, and the delivery log that makes every notification idempotent."""

from datetime import time

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.orgs.models import TeamMember
from apps.orgs.tenancy import OrgOwnedModel


class Kind(models.TextChoices):
    DAILY_REPORT = "daily_report", "Daily report"
    PCF_OVERDUE = "pcf_overdue", "Overdue post-call forms (per rep)"
    SYNC_FAILED = "sync_failed", "A sync failed"
    CREDENTIAL_REFUSED = "credential_refused", "A provider refused a credential"
    WEBHOOK_REJECTIONS = "webhook_rejections", "Rejected webhooks above the threshold"
    INBOX_BACKLOG = "inbox_backlog", "Webhook inbox backlog"
    COMMISSION_STATEMENT = "commission_statement", "Commission statement link (to the rep)"
    CHANNEL_BROKEN = "channel_broken", "A notification channel stopped working"
    TEST = "test", "Test message"


class Channel(OrgOwnedModel):
    """Where notifications of the chosen kinds go. The Slack secret (a webhook URL, which is
    itself the credential, or a bot token) is encrypted like provider credentials."""

    # The unique constraint below leads with org: a second index on org alone is waste.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)

    class Type(models.TextChoices):
        SLACK_WEBHOOK = "slack_webhook", "Slack incoming webhook"
        SLACK_BOT = "slack_bot", "Slack bot token + channel"
        EMAIL = "email", "Email"

    name = models.CharField(max_length=100)
    type = models.CharField(max_length=16, choices=Type.choices)
    kinds = models.JSONField(default=list, blank=True, help_text="The kinds sent here.")
    encrypted_secret = models.TextField(blank=True, editable=False)
    secret_hint = models.CharField(max_length=8, blank=True, editable=False)
    slack_channel = models.CharField(
        max_length=100, blank=True, help_text="Bot token only: the channel id (C0123…)."
    )
    email_to = models.TextField(blank=True, help_text="Email only: addresses, comma-separated.")
    active = models.BooleanField(default=True)
    # Set when Slack says the webhook or token is gone (revoked, channel deleted): nothing is
    # sent here until someone saves a new secret, which clears it.
    broken_at = models.DateTimeField(null=True, blank=True, editable=False)
    broken_reason = models.CharField(max_length=255, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="notification_channel_unique")
        ]

    def __str__(self):
        return f"{self.name} ({self.get_type_display()})"

    @property
    def is_slack(self) -> bool:
        return self.type in (self.Type.SLACK_WEBHOOK, self.Type.SLACK_BOT)

    @property
    def masked(self) -> str:
        return f"••••••••{self.secret_hint}" if self.encrypted_secret else ""

    @property
    def recipients(self) -> list[str]:
        return [a.strip() for a in self.email_to.replace(";", ",").split(",") if a.strip()]


class Delivery(OrgOwnedModel):
    """One notification to one target. Unique per (kind, subject, period, channel, target): a
    retried task finds its row sent and posts nothing a second time."""

    # The unique constraint below leads with org: a second index on org alone is waste.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        RETRYING = "retrying", "Failed, will be retried"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    subject = models.CharField(max_length=100, blank=True)
    period = models.CharField(max_length=40, blank=True)
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    # "channel" for the channel itself, "dm:<Slack user id>" or "email:<address>" for a person.
    target = models.CharField(max_length=254, default="channel")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["org", "kind", "subject", "period", "channel", "target"],
                name="notification_delivery_once",
            )
        ]
        indexes = [models.Index(fields=["org", "kind", "period"])]

    def __str__(self):
        return f"{self.kind} {self.subject} {self.period} → {self.target}: {self.status}"


class NotificationSettings(OrgOwnedModel):
    """When the daily report goes out and what counts as an alert, per org."""

    # The unique constraint below leads with org: a second index on org alone is waste.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)

    daily_report_time = models.TimeField(
        default=time(8, 0),
        help_text="In the org's time zone; sent at the first quarter hour after it.",
    )
    pcf_reminders = models.BooleanField(
        default=True, help_text="With the daily report: remind each rep of their overdue PCFs."
    )
    webhook_rejection_threshold = models.PositiveIntegerField(
        default=20, help_text="Alert when more webhooks than this are rejected in a day."
    )
    inbox_backlog_minutes = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="Alert when a webhook has waited longer than this to be processed.",
    )

    class Meta:
        verbose_name_plural = "notification settings"
        constraints = [
            models.UniqueConstraint(fields=["org"], name="notification_settings_one_per_org")
        ]

    def __str__(self):
        return f"notification settings of {self.org}"


class RepSlackUser(OrgOwnedModel):
    """A roster entry's Slack user id, so their reminders and statements come as a DM."""

    team_member = models.OneToOneField(
        "orgs.TeamMember", on_delete=models.CASCADE, related_name="slack_user"
    )
    slack_user_id = models.CharField(
        max_length=32, help_text="The member id from their Slack profile (U0123…)."
    )

    class Meta:
        verbose_name = "rep's Slack user"

    def __str__(self):
        return f"{self.team_member} → {self.slack_user_id}"


class Rep(TeamMember):
    """The roster seen from the notifications admin: a rep's Slack user, and the action that
    sends each selected rep the link to their commission statement."""

    class Meta:
        proxy = True
        verbose_name = "rep (Slack user, statement link)"
