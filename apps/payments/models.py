from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.contacts.models import Contact, Provider
from apps.orgs.tenancy import OrgOwnedModel, OrgQuerySet


class CreditBasis(models.TextChoices):
    NONE = "none", "Unassigned"
    DEAL = "deal", "Deal"
    MEETING = "meeting", "Attended call"
    MANUAL = "manual", "Assigned by hand"


class Payment(OrgOwnedModel):
    """Money received, once however many provider events announce it."""

    # Every index of this table leads with org: a single-column copy would only slow inserts.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )
    deal = models.ForeignKey(
        "deals.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )
    # The call the payment is credited to when it pays for no known deal (KPIS.md credit rules).
    meeting = models.ForeignKey(
        "meetings.Meeting",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payments",
    )
    provider = models.CharField(max_length=16, choices=Provider.choices)
    # Stripe: payment intent id, else charge id, else invoice id. Whop: payment id.
    external_id = models.CharField(max_length=255, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUCCEEDED)
    paid_at = models.DateTimeField()
    closer = models.ForeignKey(
        "orgs.TeamMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    setter = models.ForeignKey(
        "orgs.TeamMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    product = models.CharField(max_length=200, blank=True)
    description = models.CharField(max_length=500, blank=True)
    # Stripe: the charge id when the payment is keyed by its payment intent, so a refund that
    # names only the charge still finds its payment.
    charge_id = models.CharField(max_length=255, blank=True)
    # How closer/setter/deal/meeting were chosen; MANUAL is an admin's choice that automatic
    # re-crediting never overrides.
    credit_basis = models.CharField(
        max_length=16, choices=CreditBasis.choices, default=CreditBasis.NONE
    )
    # The provider's running refunded total (Whop payment.refunded, Stripe charge.refunded without
    # refund ids): whatever the itemised refunds do not explain is kept as one balance refund.
    reported_refunded = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-paid_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "provider", "external_id"],
                condition=~Q(external_id=""),
                name="payment_unique_external_id",
            )
        ]
        indexes = [
            models.Index(fields=["org", "status", "paid_at"]),
            models.Index(fields=["org", "closer", "paid_at"]),
            models.Index(fields=["org", "setter", "paid_at"]),
            models.Index(fields=["org", "provider", "charge_id"]),
        ]

    def __str__(self):
        return f"{self.amount} {self.currency} {self.paid_at:%Y-%m-%d} ({self.provider})"


class Refund(OrgOwnedModel):
    """A refund is a row of its own, dated; it may arrive before the payment it refunds."""

    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.CASCADE, related_name="refunds"
    )
    provider = models.CharField(max_length=16, choices=Provider.choices)
    external_id = models.CharField(max_length=255, blank=True)
    # Kept so a refund that arrived first attaches to its payment when that payment lands.
    payment_external_id = models.CharField(max_length=255, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3)
    refunded_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-refunded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "provider", "external_id"],
                condition=~Q(external_id=""),
                name="refund_unique_external_id",
            )
        ]
        indexes = [
            models.Index(fields=["org", "refunded_at"]),
            models.Index(fields=["org", "provider", "payment_external_id"]),
        ]

    def __str__(self):
        return f"refund {self.amount} {self.currency} {self.refunded_at:%Y-%m-%d}"


class CurrencyRate(OrgOwnedModel):
    """Optional fixed rates for reporting foreign-currency payments in the org's currency."""

    currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=18, decimal_places=8, help_text="1 unit = rate × org's")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "currency"], name="currencyrate_unique")
        ]

    def __str__(self):
        return f"1 {self.currency} = {self.rate} {self.org.currency}"


class CommissionRule(OrgOwnedModel):
    class Role(models.TextChoices):
        CLOSER = "closer", "Closer"
        SETTER = "setter", "Setter"

    team_member = models.ForeignKey(
        "orgs.TeamMember", on_delete=models.CASCADE, related_name="commission_rules"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Percentage of net cash collected.",
    )
    product = models.CharField(max_length=200, blank=True, help_text="Blank: every product.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "team_member", "role", "product"], name="commissionrule_unique"
            )
        ]

    def __str__(self):
        return f"{self.team_member} {self.role} {self.percent}% {self.product or 'all'}"


class SnapshotImmutable(Exception):
    """A payout snapshot and its lines are written once; a new run makes a new snapshot."""


class _WriteOnceQuerySet(OrgQuerySet):
    def update(self, **kwargs):
        raise SnapshotImmutable(f"{self.model.__name__} rows cannot be changed")

    def delete(self):
        raise SnapshotImmutable(f"{self.model.__name__} rows cannot be deleted")


class _WriteOnce(OrgOwnedModel):
    objects = _WriteOnceQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise SnapshotImmutable(f"{type(self).__name__} #{self.pk} cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise SnapshotImmutable(f"{type(self).__name__} #{self.pk} cannot be deleted")


class PayoutSnapshot(_WriteOnce):
    """A frozen statement of who earned what for a period; never edited after creation."""

    period_start = models.DateField()
    period_end = models.DateField()
    currency = models.CharField(max_length=3)
    created_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"payout {self.period_start}..{self.period_end} (#{self.pk})"


class PayoutLine(_WriteOnce):
    snapshot = models.ForeignKey(PayoutSnapshot, on_delete=models.CASCADE, related_name="lines")
    payment = models.ForeignKey(Payment, null=True, on_delete=models.SET_NULL, related_name="+")
    team_member = models.ForeignKey(
        "orgs.TeamMember", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    role = models.CharField(max_length=16, choices=CommissionRule.Role.choices)
    source = models.CharField(max_length=200, blank=True)
    net_amount = models.DecimalField(max_digits=14, decimal_places=2)
    commission = models.DecimalField(max_digits=14, decimal_places=2)
    # A refund after an earlier snapshot shows up here as a negative clawback line.
    is_adjustment = models.BooleanField(default=False)
    # The refund a clawback line is for: a refund is clawed back once, by one period.
    refund = models.ForeignKey(Refund, null=True, on_delete=models.SET_NULL, related_name="+")
    # Refund ids this payment line's net already subtracts, so a later run knows what to claw.
    netted_refund_ids = models.JSONField(default=list, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    # Frozen copies: the statement still reads the same if the roster or payment changes later.
    member_name = models.CharField(max_length=200, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    gross_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.team_member} {self.role} {self.commission}"
