from datetime import date

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from apps.forecast.selectors import pipeline_for_filters
from apps.kpis import charts
from apps.kpis.activity import dashboard_activity
from apps.kpis.cards import headline_cards, section_cards
from apps.kpis.forms import DashboardFilterForm
from apps.kpis.selectors import Filters, dashboard_data, filter_choices, kpi_summary, month_bounds
from apps.kpis.tables import FUNNEL, SORTABLE, build_tables
from apps.meetings.utilization import utilization_by_host, utilization_by_host_week
from apps.orgs.access import member_required, rep_side, rep_team_member
from apps.orgs.calendar import org_today
from apps.orgs.csv import csv_response
from apps.orgs.models import Role, TeamMember
from attribution.kpis.metrics import headline_names
from attribution.kpis.periods import PRESETS, previous_period


def _rep_filter(request) -> tuple[str, TeamMember] | None:
    return rep_filter_for(request.membership)


def rep_filter_for(membership) -> tuple[str, TeamMember] | None:
    """("closer"|"setter", their TeamMember) for a rep: their numbers are all they may see."""
    role = membership.role
    if role not in (Role.CLOSER, Role.SETTER):
        return None
    member = rep_team_member(membership)
    if member is None:
        raise PermissionDenied("You are not on the team roster of this organisation yet.")
    return rep_side(member=member, membership=membership), member


def _today(org) -> date:
    return org_today(org)


@member_required()  # first: anonymous visitors go to sign-in whatever the method
@require_GET
def dashboard(request):
    org = request.org
    form = DashboardFilterForm(request.GET, org=org, today=_today(org))
    start, end = form.period()
    closer, setter = form.value("closer"), form.value("setter")
    rep = _rep_filter(request)
    if rep is not None:
        role, member = rep
        closer, setter = (member, setter) if role == Role.CLOSER else (closer, member)
    filters = Filters(
        closer=closer,
        setter=setter,
        source=form.value("source"),
        campaign=form.value("campaign"),
        lead_source=form.value("lead_source"),
        traffic_type=form.value("traffic_type"),
    )
    previous = previous_period(start, end)
    data = dashboard_data(org=org, start=start, end=end, filters=filters, previous=previous)
    data["setters"], data["activity_days"] = dashboard_activity(
        org=org, start=start, end=end, filters=filters, setters=data["setters"]
    )
    data["utilization_weeks"] = utilization_by_host_week(
        org=org, start=start, end=end, hosts=[m for m in (closer, setter) if m is not None]
    )
    sorts = {name: request.GET.get(f"{name}_sort", default) for name, default in SORTABLE.items()}
    tables = build_tables(data, sorts, currency=org.currency)

    wanted = request.GET.get("format")
    if wanted == "csv":
        return _csv(tables, request.GET.get("table", ""), start, end)

    headline = headline_names((org.settings or {}).get("dashboard_headline"))
    query = request.GET.copy()
    for key in ("format", "table"):
        query.pop(key, None)
    _add_sort_links(query, tables)
    figures = {
        "funnel": charts.funnel(data["base"], FUNNEL),
        "trend": charts.trend(data["trend"], org.currency),
        "cash_by_closer": charts.cash_by_closer(data["closers"], org.currency),
        "close_rate_by_closer": charts.close_rate_by_closer(data["closers"]),
        "setter_activity": charts.setter_activity(data["activity_days"]),
        "utilization": charts.utilization_by_host(utilization_by_host(data["utilization_weeks"])),
    }
    context = {
        "form": form,
        "start": start,
        "end": end,
        "month_value": start.strftime("%Y-%m") if (start, end) == month_bounds(start) else "",
        "is_month": (start, end) == month_bounds(start),
        "filters": filters,
        "rep": rep,
        "choices": filter_choices(org=org),
        "headline": headline_cards(data, headline, org.currency),
        "sections": section_cards(data, skip=headline, currency=org.currency),
        "previous": previous,
        "preset": form.preset_value(),
        "presets": PRESETS,
        "tables": tables,
        "figures": figures,
        "query": query.urlencode(),
        "pipeline": pipeline_for_filters(org=org, filters=filters),
    }
    template = "kpis/dashboard.html#body" if request.htmx else "kpis/dashboard.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _add_sort_links(query, tables) -> None:
    """A click on a column sorts by it (largest first); a second click reverses."""
    for name in SORTABLE:
        table = tables[name]
        for column in table.columns:
            if not column.sortable:
                continue
            q = query.copy()
            descending = f"-{column.key}"
            q[f"{name}_sort"] = column.key if table.sort == descending else descending
            table.links[column.key] = q.urlencode()


def _csv(tables, name: str, start: date, end: date) -> HttpResponse:
    table = tables.get(name)
    if table is None:
        raise Http404("No such table.")
    return csv_response(f"{name}-{start}-{end}.csv", table.header, table.rows)


def _bad(parameter: str, message: str) -> JsonResponse:
    return JsonResponse({"error": message, "parameter": parameter}, status=400)


def _date_param(request, name: str, default: date):
    value = request.GET.get(name)
    if value in (None, ""):
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class UnknownTeamMember(Exception):
    def __init__(self, role: str):
        super().__init__(role)
        self.role = role


def summary_for(*, membership, start, end, emails: dict[str, str], source, campaign) -> dict:
    """The summary.json document (also the API's): closer and setter named by email; a rep
    gets their own numbers whatever was asked for. Raises UnknownTeamMember for an email
    nobody on the roster has."""
    org = membership.org
    people = {}
    for name in ("closer", "setter"):
        email = (emails.get(name) or "").strip()
        people[name] = None
        if email:
            people[name] = TeamMember.objects.filter(org=org, email__iexact=email).first()
            if people[name] is None:
                raise UnknownTeamMember(name)
    rep = rep_filter_for(membership)
    if rep is not None:
        role, member = rep
        people[role] = member
    return kpi_summary(
        org=org,
        start=start,
        end=end,
        closer=people["closer"],
        setter=people["setter"],
        source=source,
        campaign=campaign,
    )


@member_required()  # first: anonymous visitors go to sign-in whatever the method
@require_GET
def summary(request):
    """summary.json: the KPIs of a period (default: this month) for the signed-in member's org."""
    org = request.org
    first, last = month_bounds(_today(org))
    start = _date_param(request, "start", first)
    if start is None:
        return _bad("start", "start must be a date as YYYY-MM-DD.")
    end = _date_param(request, "end", last)
    if end is None:
        return _bad("end", "end must be a date as YYYY-MM-DD.")
    if end < start:
        return _bad("end", "end is before start.")
    try:
        document = summary_for(
            membership=request.membership,
            start=start,
            end=end,
            emails={name: request.GET.get(name, "") for name in ("closer", "setter")},
            source=request.GET.get("source") or None,
            campaign=request.GET.get("campaign") or None,
        )
    except UnknownTeamMember as exc:
        return _bad(exc.role, f"no {exc.role} with that email in this organisation.")
    return JsonResponse(document)
