from django.db import models

from apps.contacts.models import Provider
from apps.orgs.tenancy import OrgOwnedModel


class Credential(OrgOwnedModel):
    """A provider secret, encrypted at rest; shown masked, never logged."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    name = models.CharField(max_length=64)
    encrypted_value = models.TextField(editable=False)
    # The last few characters, so people can tell keys apart without seeing them.
    hint = models.CharField(max_length=8, blank=True, editable=False)
    updated_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    # Set when the provider refused the credential (401/403): syncs stop using it and the
    # integrations page says why, until someone saves a new value (credential_set clears both).
    rejected_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The value this one replaced, still accepted for signatures until previous_until: a
    # provider keeps signing with the old secret for a while after a rotation.
    previous_encrypted_value = models.TextField(blank=True, editable=False)
    previous_until = models.DateTimeField(null=True, blank=True, editable=False)
    rejection = models.CharField(max_length=255, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "provider", "name"], name="credential_unique")
        ]

    def __str__(self):
        return f"{self.provider} {self.name} (…{self.hint})"

    @property
    def masked(self) -> str:
        return f"••••••••{self.hint}"


class WebhookEvent(OrgOwnedModel):
    """The inbox (and outbox): every verified delivery, stored before it is processed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"

    provider = models.CharField(max_length=16, choices=Provider.choices)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField()
    headers = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "provider", "event_id"], name="webhookevent_unique_event"
            )
        ]
        indexes = [
            models.Index(fields=["status", "received_at"]),
            models.Index(fields=["org", "provider", "-received_at"]),
        ]

    def __str__(self):
        return f"{self.provider} {self.event_type} {self.event_id}"


class SyncCursor(OrgOwnedModel):
    provider = models.CharField(max_length=16, choices=Provider.choices)
    resource = models.CharField(max_length=64)
    cursor = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "provider", "resource"], name="synccursor_unique"
            )
        ]

    def __str__(self):
        return f"{self.provider}/{self.resource}"


class SyncRun(OrgOwnedModel):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    provider = models.CharField(max_length=16, choices=Provider.choices)
    full = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    fetched = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    progress = models.JSONField(default=dict, blank=True)
    reconciliation = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["org", "provider", "-started_at"])]

    def __str__(self):
        return f"{self.provider} sync {self.started_at:%Y-%m-%d %H:%M} {self.status}"
