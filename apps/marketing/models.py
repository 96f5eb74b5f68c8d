"""Campaigns and their daily ad metrics, the org's channel table, and the stored journeys.

Spend rule (no double counting): the attribution page reads CampaignDay spend, and the old
``kpis.AdSpend`` rows only for a (day, channel, campaign) that has no CampaignDay. The KPI
dashboard keeps reading AdSpend alone. See ``selectors.spend_by_campaign``.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from apps.orgs.tenancy import OrgOwnedModel
from attribution.touch.channels import normalize_channel


class ChannelMapping(OrgOwnedModel):
    """One utm_source value (normalised: trimmed, lower-cased) and the channel it counts as.

    Rows override the defaults of ``attribution.touch.channel_map.DEFAULT_CHANNELS``."""

    source = models.CharField(max_length=200, help_text="utm_source as sent; lower-cased on save.")
    channel = models.CharField(max_length=100)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source"]
        constraints = [
            models.UniqueConstraint(fields=["org", "source"], name="channelmapping_unique_source")
        ]

    def __str__(self):
        return f"{self.source} → {self.channel}"

    def clean(self):
        self.source = normalize_channel(self.source)
        self.channel = normalize_channel(self.channel)
        if not self.source:
            raise ValidationError({"source": "Give the utm_source value to map."})
        if not self.channel:
            raise ValidationError({"channel": "Give the channel it counts as."})


class Campaign(OrgOwnedModel):
    """An ad campaign of one channel; ``name`` is matched to utm_campaign (normalised)."""

    channel = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    platform_id = models.CharField(max_length=200, blank=True)
    budget = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["channel", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "channel", "name"], name="campaign_unique_channel_name"
            )
        ]

    def __str__(self):
        return f"{self.channel} / {self.name}"

    def clean(self):
        self.channel = normalize_channel(self.channel)
        self.name = normalize_channel(self.name)
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The end is before the start."})


class CampaignDay(OrgOwnedModel):
    """One day of a campaign as the ad platform reports it. ``platform_conversions`` is what the
    platform claims: shown apart, never mixed with the conversions we credit."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="days")
    date = models.DateField()
    spend = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    impressions = models.PositiveBigIntegerField(default=0)
    clicks = models.PositiveBigIntegerField(default=0)
    platform_conversions = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "date"], name="campaignday_unique_day")
        ]
        indexes = [models.Index(fields=["org", "date"])]

    def __str__(self):
        return f"{self.date} {self.campaign_id}: {self.spend}"


class JourneyKind(models.TextChoices):
    PAYMENT = "payment", "Payment (net cash)"
    DEAL = "deal", "Won deal (revenue)"
    CONTACT = "contact", "Every touch of a contact"


class Journey(OrgOwnedModel):
    """A contact's touches up to one conversion (a payment or a won deal), or every touch of the
    contact (``kind=contact``: leads first touched, and the journeys that did not convert).

    Derived rows, rebuilt per contact by ``services.journeys_refresh_contacts`` whenever a
    touchpoint, call, deal, payment or refund of the contact changes (signals.py), and for the
    whole org nightly. ``touches`` is ``[[epoch seconds, source, campaign, kind, milestone]]``
    in time order, source and campaign normalised; the channel is mapped when read, so a change
    of the channel table needs no rebuild.
    """

    # Every index of this table leads with org.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=8, choices=JourneyKind.choices)
    conversion_id = models.BigIntegerField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    touches = models.JSONField(default=list)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    last_touch_at = models.DateTimeField(null=True, blank=True)
    first_source = models.CharField(max_length=200, blank=True)
    first_campaign = models.CharField(max_length=200, blank=True)
    first_kind = models.CharField(max_length=16, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "kind", "converted_at"]),
            models.Index(fields=["org", "kind", "first_touch_at"]),
            models.Index(fields=["org", "kind", "last_touch_at"]),
            models.Index(fields=["org", "contact"]),
        ]

    def __str__(self):
        return f"{self.kind} journey of contact {self.contact_id}"


class JourneyState(OrgOwnedModel):
    """Per org: the input version of the attribution figures. Every change of a journey, a
    campaign day, ad spend or the channel table bumps it, so cached results keyed by it are
    never served stale."""

    org = models.OneToOneField("orgs.Organization", on_delete=models.CASCADE, related_name="+")
    version = models.BigIntegerField(default=0)
    # Random on every bump: a cache key built from it can never meet a result cached for
    # another database that happened to reach the same version number (a restore, a test run).
    token = models.CharField(max_length=32, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"journeys v{self.version}"
