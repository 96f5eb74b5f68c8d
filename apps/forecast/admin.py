from django.contrib import admin, messages

from apps.forecast.models import ForecastModel, Prediction
from apps.forecast.tasks import forecast_train_task
from apps.orgs.admin_base import OrgScopedAdmin
from apps.orgs.background import enqueue


@admin.register(ForecastModel)
class ForecastModelAdmin(OrgScopedAdmin):
    """Versions are written by training only: read here, trained again with the action."""

    list_display = ["org", "version", "kind", "trained_at", "n_outcomes", "auc", "baseline_auc"]
    list_filter = ["kind"]
    fieldsets = [
        (None, {"fields": ["org", "version", "kind", "reason", "trained_at", "training_seconds"]}),
        (
            "Holdout",
            {
                "fields": [
                    "n_outcomes",
                    "n_won",
                    "n_train",
                    "n_holdout",
                    "auc",
                    "brier",
                    "baseline_auc",
                    "baseline_brier",
                    "calibration",
                ]
            },
        ),
        ("Model", {"fields": ["params", "n_scored"]}),
    ]
    readonly_fields = [f for _, group in fieldsets for f in group["fields"]]
    actions = ["train_again"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Train a new version for these organisations")
    def train_again(self, request, queryset):
        org_ids = sorted(set(queryset.values_list("org_id", flat=True)))
        for org_id in org_ids:
            enqueue(forecast_train_task, org_id)
        self.message_user(
            request, f"Training started for {len(org_ids)} organisation(s).", messages.SUCCESS
        )


@admin.register(Prediction)
class PredictionAdmin(OrgScopedAdmin):
    list_display = ["__str__", "stage", "probability", "model", "scored_at"]
    list_filter = ["stage"]
    list_select_related = ["model"]
    readonly_fields = ["org", "model", "deal", "meeting", "probability", "stage", "scored_at"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
