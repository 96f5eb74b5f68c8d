from django.db import models
from django.db.models import Q

from apps.orgs.tenancy import OrgOwnedModel


class ForecastModel(OrgOwnedModel):
    """One trained version of an org's deal-probability model, with its holdout figures.

    ``params`` is everything prediction needs (coefficients, scaler means and scales, categories,
    or the fallback's stage rates) as plain JSON: no pickled estimator is ever stored.
    """

    class Kind(models.TextChoices):
        LOGISTIC = "logistic", "Logistic regression"
        FALLBACK = "fallback", "Stage win rate (fallback)"

    # The one index of this table leads with org: a single-column copy would only slow inserts.
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, db_index=False)

    version = models.PositiveIntegerField()
    trained_at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reason = models.TextField(blank=True, help_text="Why this kind is the one in use.")
    params = models.JSONField(default=dict)
    n_outcomes = models.PositiveIntegerField(default=0)
    n_won = models.PositiveIntegerField(default=0)
    n_train = models.PositiveIntegerField(default=0)
    n_holdout = models.PositiveIntegerField(default=0)
    auc = models.FloatField(null=True, blank=True)
    brier = models.FloatField(null=True, blank=True)
    calibration = models.JSONField(default=list, blank=True)
    # The stage win rate scored on the same holdout: what the model has to beat.
    baseline_auc = models.FloatField(null=True, blank=True)
    baseline_brier = models.FloatField(null=True, blank=True)
    training_seconds = models.FloatField(default=0)
    n_scored = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["org", "version"], name="forecastmodel_unique_version")
        ]

    def __str__(self):
        return f"v{self.version} {self.get_kind_display()} ({self.trained_at:%Y-%m-%d})"


class Prediction(OrgOwnedModel):
    """The probability that an open deal, or the lead of an upcoming solution call, is won
    within 90 days, as the org's current model scored it (replaced with every version)."""

    model = models.ForeignKey(ForecastModel, on_delete=models.CASCADE, related_name="predictions")
    deal = models.ForeignKey(
        "deals.Deal", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    meeting = models.ForeignKey(
        "meetings.Meeting", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # None: a fallback with no closed outcome at all has nothing to go on.
    probability = models.FloatField(null=True, blank=True)
    stage = models.CharField(max_length=32)
    scored_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "deal"],
                condition=Q(deal__isnull=False),
                name="prediction_one_per_deal",
            ),
            models.UniqueConstraint(
                fields=["org", "meeting"],
                condition=Q(meeting__isnull=False),
                name="prediction_one_per_meeting",
            ),
            models.CheckConstraint(
                condition=Q(deal__isnull=False) | Q(meeting__isnull=False),
                name="prediction_for_a_deal_or_a_call",
            ),
        ]

    def __str__(self):
        target = f"deal {self.deal_id}" if self.deal_id else f"call {self.meeting_id}"
        shown = "—" if self.probability is None else f"{self.probability:.0%}"
        return f"{target}: {shown}"
