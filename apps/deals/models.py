from django.db import models
from django.db.models import Q

from apps.contacts.models import Contact, Provider
from apps.orgs.tenancy import OrgOwnedModel


class Deal(OrgOwnedModel):
    """A sale: a CRM opportunity, a PCF that closed, or both folded into one."""

    # Every index of this table leads with org: a single-column copy would only slow inserts.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    class ValuePeriod(models.TextChoices):
        ONE_TIME = "one_time", "One time"
        MONTHLY = "monthly", "Monthly"
        ANNUAL = "annual", "Annual"

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.MANUAL)
    external_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    status_label = models.CharField(max_length=100, blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3)
    value_period = models.CharField(
        max_length=16, choices=ValuePeriod.choices, default=ValuePeriod.ONE_TIME
    )
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Date won.")
    closer = models.ForeignKey(
        "orgs.TeamMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    setter = models.ForeignKey(
        "orgs.TeamMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    meeting = models.ForeignKey(
        "meetings.Meeting", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    pcf = models.ForeignKey(
        "meetings.PostCallForm",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-closed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "provider", "external_id"],
                condition=~Q(external_id=""),
                name="deal_unique_external_id",
            )
        ]
        indexes = [
            models.Index(fields=["org", "status", "closed_at"]),
            models.Index(fields=["org", "closer", "closed_at"]),
            models.Index(fields=["org", "setter", "closed_at"]),
        ]

    def __str__(self):
        return f"{self.get_status_display()} {self.value} {self.currency} · {self.contact}"


class CallActivity(OrgOwnedModel):
    """A call logged in the CRM; its outcome is the second source of "showed"."""

    class Outcome(models.TextChoices):
        SHOWED = "showed", "Showed"
        NO_SHOW = "no_show", "No-show"
        UNKNOWN = "unknown", "Unknown"

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="call_activities"
    )
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.CLOSE)
    external_id = models.CharField(max_length=255)
    lead_external_id = models.CharField(max_length=255, blank=True)
    user = models.ForeignKey(
        "orgs.TeamMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    meeting = models.ForeignKey(
        "meetings.Meeting",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="call_activities",
    )
    occurred_at = models.DateTimeField()
    duration_seconds = models.PositiveIntegerField(default=0)
    direction = models.CharField(max_length=16, blank=True)
    disposition = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.UNKNOWN)
    note = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "call activities"
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "provider", "external_id"], name="callactivity_unique_external_id"
            )
        ]
        indexes = [models.Index(fields=["org", "contact", "occurred_at"])]

    def __str__(self):
        return f"call {self.occurred_at:%Y-%m-%d %H:%M} {self.get_outcome_display()}"
