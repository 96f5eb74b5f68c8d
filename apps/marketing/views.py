from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.marketing import charts
from apps.marketing.forms import (
    MODEL_LABELS,
    VALUE_LABELS,
    AttributionFilterForm,
    CampaignDaysUploadForm,
    ChannelMappingForm,
)
from apps.marketing.models import ChannelMapping
from apps.marketing.selectors import (
    attribution_report,
    channel_table,
    journeys_behind,
    journeys_built,
)
from apps.marketing.services import (
    CampaignDayImportError,
    campaign_days_import,
    channel_mapping_delete,
    channel_mapping_set,
    journeys_rebuild,
)
from apps.marketing.tables import build_tables
from apps.orgs.access import member_required
from apps.orgs.csv import csv_response
from apps.orgs.models import MANAGER_ROLES
from attribution.kpis.periods import PRESETS
from attribution.touch.channel_map import DEFAULT_CHANNELS

# Who sees the attribution page: the roles that manage (closers and setters see their own
# numbers on the dashboard and the rep portal, not the org's marketing money).
ROLES = MANAGER_ROLES
_FILTERS = ("preset", "month", "start", "end", "model", "value", "lookback")


def _filter_query(request) -> str:
    query = request.GET.copy()
    for key in list(query):
        if key not in _FILTERS:
            query.pop(key)
    return query.urlencode()


def _form(request):
    org = request.org
    if not journeys_built(org=org):
        journeys_rebuild(org=org)  # the first visit of an org: later, signals keep them current
    return AttributionFilterForm(
        request.GET, org=org, today=timezone.localdate(timezone=org.tzinfo)
    )


@member_required(roles=ROLES)
@require_GET
def attribution(request):
    org = request.org
    form = _form(request)
    query, compare = form.query()
    report = attribution_report(org=org, query=query, compare=compare)
    value_label = VALUE_LABELS[query.value].lower()
    filters = _filter_query(request)
    tables = build_tables(report, currency=org.currency, query=filters, value_label=value_label)
    if request.GET.get("format") == "csv":
        table = tables.get(request.GET.get("table", ""))
        if table is None:
            raise Http404("No such table.")
        return csv_response(
            f"attribution-{table.name}-{query.start}-{query.end}.csv", table.header, table.csv_rows
        )
    figures = {"channels": charts.credited_vs_spend(report.channels, org.currency, value_label)}
    if compare:
        figures["compare"] = charts.comparison(report.compare, MODEL_LABELS, org.currency)
    context = {
        "form": form,
        "query": query,
        "compare": compare,
        "model_value": "compare" if compare else query.model,
        "model_label": MODEL_LABELS[query.model],
        "report": report,
        "tables": tables,
        "figures": figures,
        "filters": filters,
        "models": MODEL_LABELS,
        "values": VALUE_LABELS,
        "value_label": value_label,
        "preset": form.preset_value(),
        "presets": PRESETS,
        "month_value": query.start.strftime("%Y-%m"),
    }
    template = "marketing/attribution.html#body" if request.htmx else "marketing/attribution.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@member_required(roles=ROLES)
@require_GET
def journeys(request):
    org = request.org
    form = _form(request)
    query, _ = form.query()
    channel = request.GET.get("channel") or None
    campaign = request.GET.get("campaign")
    campaign = None if campaign is None else campaign
    rows, count = journeys_behind(org=org, query=query, channel=channel, campaign=campaign)
    return render(
        request,
        "marketing/journeys.html",
        {
            "rows": rows,
            "count": count,
            "channel": channel,
            "campaign": campaign,
            "query": query,
            "value_label": VALUE_LABELS[query.value],
            "filters": _filter_query(request),
        },
    )


@member_required(roles=ROLES)
@require_http_methods(["GET", "POST"])
def channels(request):
    org = request.org
    form = ChannelMappingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            row = channel_mapping_set(
                org=org,
                source=form.cleaned_data["source"],
                channel=form.cleaned_data["channel"],
                actor=request.user,
            )
        except Exception as exc:  # a ValidationError from the service: shown, nothing saved
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, f"“{row.source}” now counts as {row.channel}.")
            return redirect("marketing:channels")
    own = ChannelMapping.objects.filter(org=org)
    mapping = channel_table(org=org)
    defaults = sorted((s, c) for s, c in DEFAULT_CHANNELS.items() if s not in mapping)
    return render(
        request,
        "marketing/channels.html",
        {
            "form": form,
            "own": own,
            "defaults": defaults,
            "upload": CampaignDaysUploadForm(),
        },
    )


@member_required(roles=ROLES)
@require_POST
def channel_delete(request):
    try:
        pk = int(request.POST.get("pk", ""))
    except ValueError:
        raise Http404("No such mapping.") from None
    # A mapping of another org and a missing one are the same 404.
    if not channel_mapping_delete(org=request.org, pk=pk, actor=request.user):
        raise Http404("No such mapping.")
    messages.success(request, "Mapping removed: the default applies again.")
    return redirect("marketing:channels")


@member_required(roles=ROLES)
@require_POST
def campaign_days_upload(request):
    form = CampaignDaysUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a CSV file to import.")
        return redirect("marketing:channels")
    try:
        raw = form.cleaned_data["file"].read()
        saved = campaign_days_import(org=request.org, file=raw, actor=request.user)
    except UnicodeDecodeError:
        messages.error(request, "The file is not UTF-8 text: export it as CSV again.")
    except CampaignDayImportError as exc:
        messages.error(
            request,
            f"{len(exc.lines)} error(s); nothing was imported: "
            + "; ".join(f"line {n}: {m}" for n, m in exc.lines[:50]),
        )
    else:
        messages.success(request, f"Imported {len(saved)} campaign day(s).")
    return redirect("marketing:channels")
