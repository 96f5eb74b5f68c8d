from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.forecast import charts
from apps.forecast.models import ForecastModel
from apps.forecast.selectors import forecast_current_model
from apps.forecast.services import forecast_train_request
from apps.orgs.access import member_required
from apps.orgs.models import MANAGER_ROLES
from attribution.forecast.features import BOOLEAN, CATEGORICAL, NUMERIC, STAGE_LABELS, STAGES
from attribution.forecast.metrics import clearly_better
from attribution.forecast.model import MIN_CATEGORY_ROWS, MIN_OUTCOMES

FEATURE_LABELS = {
    "channel": "Channel",
    "campaign": "Campaign",
    "closer": "Closer",
    "touches": "Touches",
    "days_since_first_touch": "Days since first touch",
    "deal_value": "Deal value",
    "crm_confidence": "CRM confidence",
    "triage_attended": "Triage attended",
    "solution_attended": "Solution attended",
    "offer_made": "Offer made (PCF)",
}


def _features(model: ForecastModel) -> list[dict]:
    params = model.params or {}
    used = {c["name"]: c for c in params.get("numeric", []) + params.get("categorical", [])}
    dropped = params.get("dropped", {})
    rows = []
    for name in CATEGORICAL + NUMERIC + BOOLEAN:
        column = used.get(name)
        if column is not None:
            if "coef" in column:
                note = f"weight {column['coef']:+.2f} per standard deviation"
            else:
                note = (
                    f"{len(column['categories'])} value(s) on {MIN_CATEGORY_ROWS}+ outcomes; "
                    "rarer ones share the reference level"
                )
        else:
            note = dropped.get(name, "")
        rows.append({"label": FEATURE_LABELS[name], "used": column is not None, "note": note})
    return rows


def _stages(model: ForecastModel) -> list[dict]:
    stages = (model.params or {}).get("stages", {})
    return [{"label": STAGE_LABELS[s], **stages[s]} for s in STAGES if s in stages]


@member_required(roles=MANAGER_ROLES)
@require_GET
def forecast_page(request):
    org = request.org
    model = forecast_current_model(org=org)
    context = {"model": model, "min_outcomes": MIN_OUTCOMES}
    if model is not None:
        context |= {
            "figure": charts.calibration(model.calibration),
            "features": _features(model) if model.kind == ForecastModel.Kind.LOGISTIC else [],
            "stages": _stages(model),
            "history": ForecastModel.objects.for_org(org).order_by("-version")[:10],
            "beats_baseline": clearly_better(model.auc, model.baseline_auc, model.calibration),
        }
    return render(request, "forecast/page.html", context)


@member_required(roles=MANAGER_ROLES)
@require_POST
def forecast_train_now(request):
    forecast_train_request(org=request.org, actor=request.user)
    messages.success(request, "Training started: the new version shows here when it is done.")
    return redirect("forecast:page")
