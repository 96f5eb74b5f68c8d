from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from apps.orgs.tenancy import OrgOwnedModel
from attribution.touch.channels import normalize_channel


class AdSpend(OrgOwnedModel):
    """Spend per day, or per month (spread evenly over its days when counted)."""

    class Granularity(models.TextChoices):
        DAY = "day", "Day"
        MONTH = "month", "Month"

    granularity = models.CharField(max_length=8, choices=Granularity.choices, default="day")
    date = models.DateField(help_text="The day, or the first day of the month.")
    # Normalised (normalize_channel): the KPIs join these on equal text with the contacts'
    # first-touch source and campaign, normalised the same way.
    source = models.CharField(max_length=200, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    # As the person or the file typed them, so the normalisation can be checked or redone.
    source_raw = models.CharField(max_length=200, blank=True, editable=False)
    campaign_raw = models.CharField(max_length=200, blank=True, editable=False)
    amount = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "ad spend"
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "granularity", "date", "source", "campaign"],
                name="adspend_unique_period_source_campaign",
            )
        ]
        indexes = [models.Index(fields=["org", "date"])]

    def __str__(self):
        return f"{self.date} {self.source}/{self.campaign}: {self.amount} {self.currency}"

    def clean(self):
        for name in ("source", "campaign"):
            typed, raw = getattr(self, name), getattr(self, f"{name}_raw")
            # Editing a row shows the normalised text; saving it unchanged keeps what was typed.
            if not raw or normalize_channel(raw) != normalize_channel(typed):
                setattr(self, f"{name}_raw", typed)
            setattr(self, name, normalize_channel(typed))
        errors = {}
        if self.granularity == self.Granularity.MONTH and self.date and self.date.day != 1:
            errors["date"] = (
                f"A monthly amount is dated the first of its month: "
                f"{self.date.replace(day=1).isoformat()}, not {self.date.isoformat()}."
            )
        org = self.org if self.org_id else None
        if org is not None and self.currency and self.currency != org.currency:
            # Until there is a rate table, spend in another currency could only be left out of
            # every figure without a word, so it is refused here instead.
            errors["currency"] = (
                f"{org.name} reports in {org.currency}: enter the spend in {org.currency} "
                f"(converting {self.currency} is not supported yet)."
            )
        if errors:
            raise ValidationError(errors)


class DailyRollup(OrgOwnedModel):
    """Base counts per org-local day (or month) and dimension; dashboards read these, not raw rows.

    One table holds three cubes (``kind``) at two grains: ``total`` rows are broken down by source
    and campaign only, ``closer`` rows add the closer, ``setter`` rows the setter. A full cube by
    closer *and* setter would hold about one row per call, so that rare combination reads the raw
    rows instead. Month rows (``grain=month``, ``date`` = the 1st) exist only for months wholly in
    the past, so a 24-month range reads a few thousand rows.

    The meeting outcome columns (attended, no-show, canceled, offers, PCF pending) are stored "as if
    due": what they will be once the call's time has passed. The selector applies "due" when it
    reads: a day before today is wholly due, today's calls come from the raw rows (scheduled_at <
    now), later days count none. So the rows never go stale as time passes.
    """

    # Every index of this table leads with org: a single-column copy would only slow inserts.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)

    class Kind(models.TextChoices):
        TOTAL = "total", "Total"
        CLOSER = "closer", "By closer"
        SETTER = "setter", "By setter"
        PAIR = "pair", "By closer and setter"

    class Grain(models.TextChoices):
        DAY = "day", "Day"
        MONTH = "month", "Month"

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TOTAL)
    grain = models.CharField(max_length=8, choices=Grain.choices, default=Grain.DAY)
    date = models.DateField()
    closer = models.ForeignKey(
        "orgs.TeamMember", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    setter = models.ForeignKey(
        "orgs.TeamMember", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    source = models.CharField(max_length=200, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    leads = models.IntegerField(default=0)
    triage_booked = models.IntegerField(default=0)
    triage_attended = models.IntegerField(default=0)
    triage_no_show = models.IntegerField(default=0)
    triage_canceled = models.IntegerField(default=0)
    solution_booked = models.IntegerField(default=0)
    solution_attended = models.IntegerField(default=0)
    solution_no_show = models.IntegerField(default=0)
    solution_canceled = models.IntegerField(default=0)
    solution_direct_booked = models.IntegerField(default=0)
    offers_made = models.IntegerField(default=0)
    pcf_pending = models.IntegerField(default=0)
    deals_won = models.IntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    cash_collected = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    refunds = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    ad_spend = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "kind", "grain", "date", "closer", "setter", "source", "campaign"],
                nulls_distinct=False,
                name="dailyrollup_unique_key",
            )
        ]
        indexes = [
            models.Index(fields=["org", "kind", "grain", "date"]),
            models.Index(fields=["org", "kind", "grain", "closer", "date"]),
            models.Index(fields=["org", "kind", "grain", "setter", "date"]),
        ]

    def __str__(self):
        return f"rollup {self.kind}/{self.grain} {self.date}"


class TrafficType(OrgOwnedModel):
    """A kind of traffic (paid, organic, cold, warm ...), named per org, and the sources in it.

    A contact is of the first type (by ``position``) listing its UTM source; failing that, of the
    first listing its CRM lead source. ``sources`` are normalised like every source.
    """

    name = models.CharField(max_length=60)
    sources = models.JSONField(
        default=list, blank=True, help_text="UTM sources and CRM lead sources of this type."
    )
    position = models.PositiveSmallIntegerField(default=100, help_text="Lower is matched first.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="traffictype_unique_name")
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        self.name = " ".join((self.name or "").split())
        if not self.name:
            raise ValidationError({"name": "Give the traffic type a name."})
        raw = self.sources if isinstance(self.sources, list) else []
        cleaned = []
        for value in raw:
            text = normalize_channel(str(value))[:200]
            if text and text not in cleaned:
                cleaned.append(text)
        self.sources = cleaned
