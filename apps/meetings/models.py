from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from apps.contacts.models import Contact, Provider
from apps.orgs.fields import HttpsURLField
from apps.orgs.tenancy import OrgOwnedModel


class CallType(models.TextChoices):
    TRIAGE = "triage", "Triage (setter)"
    SOLUTION = "solution", "Solution (closer)"
    OTHER = "other", "Other"


class CallTypeRule(OrgOwnedModel):
    """Maps a Calendly event type (by uri, or by a name pattern) to a call type."""

    event_type_uri = HttpsURLField(max_length=500, blank=True)
    name_pattern = models.CharField(
        max_length=200, blank=True, help_text="Case-insensitive text the event name contains."
    )
    call_type = models.CharField(max_length=16, choices=CallType.choices)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower runs first.")

    class Meta:
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(event_type_uri="", name_pattern=""),
                name="calltyperule_has_uri_or_pattern",
            )
        ]

    def __str__(self):
        return f"{self.event_type_uri or self.name_pattern!r} → {self.call_type}"


class Meeting(OrgOwnedModel):
    """One booked call (a Calendly invitee, or a call entered by hand)."""

    # Every index of this table leads with org: a single-column copy would only slow inserts.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        COMPLETED = "completed", "Completed"
        NO_SHOW = "no_show", "No-show"
        CANCELED = "canceled", "Canceled"
        RESCHEDULED = "rescheduled", "Rescheduled"

    class CanceledBy(models.TextChoices):
        HOST = "host", "Host"
        INVITEE = "invitee", "Invitee"

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings"
    )
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.CALENDLY)
    external_id = models.CharField(max_length=255, help_text="Calendly invitee uri.")
    event_uri = HttpsURLField(max_length=500, blank=True)
    event_type_uri = HttpsURLField(max_length=500, blank=True)
    event_name = models.CharField(max_length=255, blank=True)
    call_type = models.CharField(max_length=16, choices=CallType.choices, default=CallType.OTHER)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    scheduled_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    booked_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    canceled_by = models.CharField(max_length=16, choices=CanceledBy.choices, blank=True)
    cancel_reason = models.TextField(blank=True)
    # The old side of a reschedule points at the new booking that replaced it.
    rescheduled_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rescheduled_from"
    )
    host = models.ForeignKey(
        "orgs.TeamMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closer = models.ForeignKey(
        "orgs.TeamMember",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="meetings_closed",
    )
    setter = models.ForeignKey(
        "orgs.TeamMember",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="meetings_set",
    )
    # Outcome from the CRM's call activity, the second source of "showed" after the PCF.
    crm_outcome = models.CharField(
        max_length=16,
        choices=[("showed", "Showed"), ("no_show", "No-show")],
        blank=True,
    )
    no_show_marked_at = models.DateTimeField(null=True, blank=True)
    # KPIS.md "Showed", resolved by the meeting services from PCF, CRM outcome, cancellation and
    # the org default, and stored so every count reads one column instead of re-deriving the rule.
    showed = models.BooleanField(default=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    # The new side of a reschedule remembers the invitee it replaced, so the old side's own events
    # arriving later still find out they were rescheduled.
    replaces_external_id = models.CharField(max_length=255, blank=True)
    questions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-scheduled_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "provider", "external_id"], name="meeting_unique_external_id"
            )
        ]
        indexes = [
            models.Index(fields=["org", "call_type", "scheduled_at"]),
            models.Index(fields=["org", "closer", "scheduled_at"]),
            models.Index(fields=["org", "setter", "scheduled_at"]),
            models.Index(fields=["org", "contact", "scheduled_at"]),
            models.Index(fields=["org", "provider", "replaces_external_id"]),
        ]

    def __str__(self):
        return f"{self.get_call_type_display()} {self.scheduled_at:%Y-%m-%d %H:%M} · {self.contact}"


class PaymentType(models.TextChoices):
    PAID_IN_FULL = "paid_in_full", "Paid in full"
    PAYMENT_PLAN = "payment_plan", "Payment plan"
    DEPOSIT = "deposit", "Deposit"


class PostCallForm(OrgOwnedModel):
    """What the rep reports after a call: the first source of truth for "showed"."""

    meeting = models.OneToOneField(Meeting, on_delete=models.CASCADE, related_name="pcf")
    author = models.ForeignKey(
        "orgs.TeamMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    call_occurred = models.BooleanField(default=True)
    lead_showed = models.BooleanField()
    offer_made = models.BooleanField(default=False)
    deal_closed = models.BooleanField(default=False)
    cash_collected = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    contract_value = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3, blank=True)
    payment_type = models.CharField(max_length=16, choices=PaymentType.choices, blank=True)
    outcome = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    custom = models.JSONField(default=dict, blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "post-call form"
        indexes = [models.Index(fields=["org", "submitted_at"])]

    def __str__(self):
        return f"PCF for {self.meeting}"


class PostCallFormConfig(OrgOwnedModel):
    """Per-org outcomes list and custom PCF fields (type, required, choices)."""

    outcomes = models.JSONField(default=list, blank=True)
    # [{"key": "objection", "label": "Main objection", "type": "select", "required": false,
    #   "choices": ["price", "timing"]}]
    custom_fields = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "post-call form configuration"
        constraints = [models.UniqueConstraint(fields=["org"], name="pcfconfig_one_per_org")]

    def __str__(self):
        return f"PCF configuration of {self.org}"


class HostAvailabilityWeek(OrgOwnedModel):
    """A host's bookable time in one week (Monday to Sunday), from their Calendly availability
    schedule; utilization is the week's booked calls over ``available_slots``."""

    host = models.ForeignKey(
        "orgs.TeamMember", on_delete=models.CASCADE, related_name="availability_weeks"
    )
    week_start = models.DateField(help_text="The Monday of the week.")
    available_minutes = models.PositiveIntegerField(default=0)
    available_slots = models.PositiveIntegerField(default=0)
    slot_minutes = models.PositiveSmallIntegerField(default=30)
    schedule_uri = HttpsURLField(max_length=500, blank=True)
    schedule_timezone = models.CharField(max_length=64, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["-week_start", "host_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "host", "week_start"], name="hostavailabilityweek_unique_week"
            )
        ]

    def __str__(self):
        return f"{self.host} · week of {self.week_start}: {self.available_slots} slots"
