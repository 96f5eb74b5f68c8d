"""Workspaces and their API keys, conversions, contacts' conversion status, the activity log."""

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.orgs.tenancy import OrgOwnedModel


class Scope(models.TextChoices):
    READ = "read", "Read"
    UPDATE = "update", "Update contacts' conversion status"
    CONVERT = "convert", "Log conversions"


SCOPES = tuple(Scope.values)


class Workspace(OrgOwnedModel):
    """An outside team (a partner's sales team, a call centre, a CRM automation) that calls the
    API with keys of its own; ``permissions`` caps the scopes its keys may have."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60)
    permissions = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "slug"], name="workspace_org_slug_unique")
        ]

    def __str__(self):
        return self.name


class ApiKey(OrgOwnedModel):
    """A key is shown once; only its prefix (to tell keys apart) and a keyed hash are kept.

    A workspace's key acts for the workspace; a personal key (``user`` set) reads what its
    user's role may read, and only while they are a member.
    """

    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="keys"
    )
    user = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=120, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(workspace__isnull=True, user__isnull=False)
                | Q(workspace__isnull=False, user__isnull=True),
                name="apikey_workspace_xor_user",
            )
        ]

    def __str__(self):
        return f"{self.prefix}… ({self.workspace or self.user})"

    @property
    def is_personal(self) -> bool:
        return self.user_id is not None

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class Conversion(OrgOwnedModel):
    """A conversion a workspace logged for a contact; also a Touchpoint of the contact's journey."""

    # Every index of this table leads with org: a single-column copy would only slow inserts.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="conversions", db_index=False
    )
    workspace = models.ForeignKey(
        Workspace, on_delete=models.PROTECT, related_name="conversions", db_index=False
    )
    touchpoint = models.OneToOneField(
        "contacts.Touchpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lead_id = models.CharField(max_length=255, blank=True)
    converted_by = models.CharField(max_length=200, blank=True)
    conversion_type = models.CharField(max_length=64)
    conversion_value = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3)
    converted_at = models.DateTimeField()
    custom_data = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    # sha256 of the request a key first came with: the same key with another body is refused.
    request_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-converted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "workspace", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="conversion_idempotency_unique",
            ),
            models.UniqueConstraint(
                fields=["org", "workspace", "external_id"],
                condition=~Q(external_id=""),
                name="conversion_external_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(conversion_value__gte=0), name="conversion_value_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["org", "converted_at"], name="conversion_org_at"),
            models.Index(fields=["org", "workspace", "id"], name="conversion_org_ws_id"),
            models.Index(fields=["org", "contact", "converted_at"], name="conversion_org_contact"),
        ]

    def __str__(self):
        return f"{self.conversion_type} {self.conversion_value} {self.currency}"


class ConversionRollup(OrgOwnedModel):
    """Conversions per org-local day, workspace, type and currency, kept in the transaction that
    logs each conversion: analytics over a million conversions read thousands of these instead."""

    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)
    day = models.DateField()
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversion_type = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)
    count = models.PositiveIntegerField(default=0)
    value = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "day", "workspace", "conversion_type", "currency"],
                name="conversionrollup_unique",
            )
        ]

    def __str__(self):
        return f"{self.day} {self.conversion_type}: {self.count}"


class ConversionStatus(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    CONVERTED = "converted", "Converted"
    LOST = "lost", "Lost"


class ContactConversion(OrgOwnedModel):
    """A contact's conversion status as the workspaces report it (PATCH .../conversion)."""

    contact = models.OneToOneField(
        "contacts.Contact", on_delete=models.CASCADE, related_name="conversion_status"
    )
    status = models.CharField(
        max_length=16, choices=ConversionStatus.choices, default=ConversionStatus.NEW
    )
    sent_from = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    converted_from = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    converted_by = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    first_converted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # Analytics count the contacts whose first conversion falls in a period.
        indexes = [models.Index(fields=["org", "first_converted_at"], name="contactconv_org_first")]

    def __str__(self):
        return f"{self.contact_id}: {self.status}"


class Activity(OrgOwnedModel):
    """What a workspace's keys did: every conversion logged or replayed, every status update."""

    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="activity", db_index=False
    )
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "activity"
        indexes = [models.Index(fields=["org", "workspace", "-id"], name="activity_org_ws")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"
