from django.db import models
from django.db.models import F, Q

from apps.orgs.fields import HttpsURLField
from apps.orgs.tenancy import OrgOwnedModel


class Provider(models.TextChoices):
    CALENDLY = "calendly", "Calendly"
    TYPEFORM = "typeform", "Typeform"
    CLOSE = "close", "Close"
    STRIPE = "stripe", "Stripe"
    WHOP = "whop", "Whop"
    MANUAL = "manual", "Manual entry"


class Contact(OrgOwnedModel):
    """One person, resolved across every source."""

    # Every index of this table leads with org: a single-column copy would only slow inserts.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)

    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    primary_email = models.EmailField(blank=True)
    primary_phone = models.CharField(max_length=32, blank=True)
    company = models.CharField(max_length=200, blank=True)
    lead_status = models.CharField(max_length=100, blank=True)
    # Original (first-touch) attribution: the earliest touch wins these (survivorship).
    original_source = models.CharField(max_length=200, blank=True)
    original_medium = models.CharField(max_length=200, blank=True)
    original_campaign = models.CharField(max_length=200, blank=True)
    original_content = models.CharField(max_length=200, blank=True)
    original_term = models.CharField(max_length=200, blank=True)
    # The CRM's own lead-source field (which Close custom field: org setting
    # close_lead_source_field), kept beside the UTM source; normalised like it. The CRM wins it.
    crm_lead_source = models.CharField(max_length=200, blank=True)
    # KPIS.md: a lead is dated by the contact's earliest touch in any source.
    first_seen_at = models.DateTimeField(null=True, blank=True)
    # Which source set each surviving field, so a later, weaker source does not overwrite it.
    field_sources = models.JSONField(default=dict, blank=True)
    # A merged-away contact is kept (not deleted) so an unmerge can bring it back exactly.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_contacts"
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-first_seen_at", "-id"]
        indexes = [
            models.Index(fields=["org", "first_seen_at"]),
            models.Index(fields=["org", "original_source", "original_campaign"]),
            models.Index(fields=["org", "crm_lead_source"]),
            models.Index(fields=["org", "last_name", "first_name"]),
            # Every page of a sync asks whether its org erased anyone (ingest._erased_for).
            models.Index(
                fields=["org"], name="contact_erased_idx", condition=Q(erased_at__isnull=False)
            ),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.primary_email or self.primary_phone or f"Contact #{self.pk}"


class IdentifierKind(models.TextChoices):
    EMAIL = "email", "Email"
    EMAIL_CANONICAL = "email_canonical", "Email (canonical: gmail dots, +tags)"
    PHONE = "phone", "Phone (E.164)"
    PHONE_RAW = "phone_raw", "Phone (invalid, kept as typed)"
    CLOSE_LEAD = "close_lead", "Close lead id"
    CLOSE_CONTACT = "close_contact", "Close contact id"
    STRIPE_CUSTOMER = "stripe_customer", "Stripe customer id"
    WHOP_USER = "whop_user", "Whop user id"
    CALENDLY_INVITEE = "calendly_invitee", "Calendly invitee"
    TYPEFORM_RESPONSE = "typeform_response", "Typeform response"


class Identifier(OrgOwnedModel):
    """The alias table: every normalized email, phone and provider id a contact is known by."""

    # Every index of this table leads with org: a single-column copy would only slow inserts.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=32, choices=IdentifierKind.choices)
    value = models.CharField(max_length=320)
    raw = models.CharField(max_length=320, blank=True)
    is_primary = models.BooleanField(default=False)
    # Set once the same value is known on more than one contact (an office line, a shared inbox).
    # Shared values are kept on every contact but weigh less, and above the org's limit not at all.
    shared = models.BooleanField(default=False)
    source = models.CharField(max_length=16, choices=Provider.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One owner per value unless it is explicitly shared: the database backstop that makes
            # two simultaneous resolves of one new person end with one contact.
            models.UniqueConstraint(
                fields=["org", "kind", "value"],
                condition=Q(shared=False),
                name="identifier_unique_value",
            ),
            models.UniqueConstraint(
                fields=["org", "kind", "value", "contact"], name="identifier_unique_per_contact"
            ),
        ]
        # No separate (org, kind, value) index: identifier_unique_per_contact starts with those
        # columns and serves the same lookups; a second copy only slowed every insert.

    def __str__(self):
        return f"{self.get_kind_display()}: {self.value}"


class ContactNameKey(OrgOwnedModel):
    """Name blocking keys (phonetic surname + first initial): how namesakes are found cheaply."""

    # Every index of this table leads with org: a single-column copy would only slow inserts.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)

    # contactnamekey_unique (contact, key) serves lookups by contact.
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="name_keys", db_index=False
    )
    key = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "key"], name="contactnamekey_unique")
        ]
        # contact last: the newest namesakes of a key come straight off the index.
        indexes = [models.Index(fields=["org", "key", "contact"], name="contactnamekey_org_key")]

    def __str__(self):
        return self.key


class BlockedIdentifier(OrgOwnedModel):
    """Values an org never wants matched on (a front-desk phone, test@test.com)."""

    kind = models.CharField(max_length=32, choices=IdentifierKind.choices)
    value = models.CharField(max_length=320)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "kind", "value"], name="blocked_identifier_unique"
            )
        ]

    def __str__(self):
        return f"blocked {self.kind}: {self.value}"


class SourceRecord(OrgOwnedModel):
    """Provenance: the raw payload of every record any source told us about a person."""

    # Every index of this table leads with org: a single-column copy would only slow inserts.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)

    provider = models.CharField(max_length=16, choices=Provider.choices)
    object_type = models.CharField(max_length=48)
    external_id = models.CharField(max_length=255)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="source_records"
    )
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "provider", "object_type", "external_id"],
                name="sourcerecord_unique_external_id",
            )
        ]
        indexes = [models.Index(fields=["org", "contact"])]

    def __str__(self):
        return f"{self.provider} {self.object_type} {self.external_id}"


class TouchpointKind(models.TextChoices):
    FORM = "form", "Form submission"
    BOOKING = "booking", "Booking"
    CRM_LEAD = "crm_lead", "CRM lead"
    PAYMENT = "payment", "Payment"
    CONVERSION = "conversion", "Conversion"


class Touchpoint(OrgOwnedModel):
    # Every index of this table leads with org: a single-column copy would only slow inserts.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="touchpoints")
    source_record = models.ForeignKey(
        SourceRecord, null=True, blank=True, on_delete=models.SET_NULL
    )
    kind = models.CharField(max_length=16, choices=TouchpointKind.choices)
    occurred_at = models.DateTimeField()
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    landing_url = HttpsURLField(max_length=1000, blank=True)

    class Meta:
        ordering = ["occurred_at"]
        indexes = [
            models.Index(fields=["org", "contact", "occurred_at"]),
            models.Index(fields=["org", "utm_source", "utm_campaign"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d} {self.utm_source}".strip()


class MergeCandidate(OrgOwnedModel):
    """A pair the evidence could not settle: an admin accepts (merge) or rejects it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    contact_a = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    contact_b = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    score = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    reasons = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "contact_a", "contact_b"], name="mergecandidate_unique_pair"
            ),
            # Pairs are stored in one order so (a, b) and (b, a) cannot both exist.
            models.CheckConstraint(
                condition=Q(contact_a__lt=F("contact_b")), name="mergecandidate_ordered_pair"
            ),
        ]
        indexes = [models.Index(fields=["org", "status"])]

    def __str__(self):
        return f"{self.contact_a} ↔ {self.contact_b} ({self.score})"


class ContactMerge(OrgOwnedModel):
    """What one merge moved, exactly, so an unmerge can put every row back."""

    winner = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="merges_won")
    loser = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="merges_lost")
    actor = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    # {"identifiers": [ids], "source_records": [...], "meetings": [...], ..., "winner_fields": {...}}
    moved = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"merge #{self.pk}: {self.loser_id} → {self.winner_id}"


class Suppression(OrgOwnedModel):
    """One identifier of an erased person, as a keyed hash (apps/contacts/suppression.py): later
    data that carries it is stored without anything personal, until an admin lifts it."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        PROVIDER_ID = "provider_id", "Provider id"

    # suppression_unique_active leads with org: a single-column copy would only slow inserts.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    digest = models.CharField(max_length=64)
    # One per erasure: a person's rows are lifted together, and stay together if their
    # contact is deleted.
    person = models.UUIDField(editable=False)
    # The nameless contact later data about the person goes to, so their calls and money
    # still add up on one contact.
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="suppressions"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        "orgs.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A lifted row stays as history; the person can be erased (and suppressed) again.
            models.UniqueConstraint(
                fields=["org", "digest", "kind"],
                condition=Q(lifted_at__isnull=True),
                name="suppression_unique_active",
            )
        ]

    def __str__(self):
        return f"suppressed {self.kind} {self.digest[:12]}…"
