"""The site's pages of the API: keys and workspaces (settings), and the conversions page."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from apps.api import charts, selectors, services
from apps.api.forms import KeyForm, WorkspaceForm
from apps.api.models import ApiKey, Workspace
from apps.kpis import charts as kpi_charts
from apps.orgs.access import get_object_for_member, member_required, tenant_object
from apps.orgs.models import ADMIN_ROLES, MANAGER_ROLES


def _keys_page(request, *, key_form=None, workspace_form=None, new_key=None, status=200):
    org, membership = request.org, request.membership
    keys = ApiKey.objects.for_org(org).select_related("workspace", "user")
    if not membership.can_admin:
        keys = keys.filter(user=request.user)
    response = render(
        request,
        "api/keys.html",
        {
            "can_admin": membership.can_admin,
            "workspaces": Workspace.objects.for_org(org) if membership.can_admin else [],
            "keys": keys,
            "key_form": key_form or KeyForm(org=org, can_admin=membership.can_admin),
            "workspace_form": workspace_form or WorkspaceForm(),
            "new_key": new_key,
            "now": timezone.now(),
        },
        status=status,
    )
    # The page that shows a new key must not be kept by any cache or the browser's history.
    add_never_cache_headers(response)
    return response


@member_required()
@require_GET
def keys_page(request):
    return _keys_page(request)


@require_POST
@member_required(roles=ADMIN_ROLES)
def workspace_new(request):
    form = WorkspaceForm(request.POST)
    if form.is_valid():
        try:
            services.workspace_create(
                org=request.org,
                name=form.cleaned_data["name"],
                permissions=form.cleaned_data["permissions"],
                actor=request.user,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Workspace created: now create its key.")
            return redirect("api_site:keys")
    return _keys_page(request, workspace_form=form, status=400)


@require_POST
@member_required()
def key_new(request):
    membership = request.membership
    form = KeyForm(request.POST, org=request.org, can_admin=membership.can_admin)
    if form.is_valid():
        data = form.cleaned_data
        workspace = data.get("workspace")
        days = data.get("expires_in_days")
        try:
            _key, raw = services.api_key_create(
                org=request.org,
                workspace=workspace,
                user=None if workspace else request.user,
                scopes=data["scopes"],
                name=data["name"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
                actor=request.user,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return _keys_page(request, new_key=raw)
    return _keys_page(request, key_form=form, status=400)


@member_required()
@tenant_object(ApiKey)
def key_revoke(request, pk: int):
    keys = ApiKey.objects.for_org(request.org)
    if not request.membership.can_admin:
        keys = keys.filter(user=request.user)
    # The lookup comes first, so another org's id is a 404 whatever the method.
    key = get_object_for_member(keys, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if services.api_key_revoke(org=request.org, key=key, actor=request.user):
        messages.success(request, f"Key {key.prefix}… revoked: it stops working now.")
    return redirect("api_site:keys")


@member_required(roles=MANAGER_ROLES)
@require_GET
def conversions_page(request):
    org = request.org
    today = timezone.localdate(timezone=org.tzinfo)
    try:
        days = min(max(int(request.GET.get("days", 90)), 7), selectors.ANALYTICS_MAX_DAYS)
    except ValueError:
        days = 90
    start = today - timedelta(days=days - 1)
    data = selectors.conversion_analytics(
        org=org, filters=selectors.AnalyticsFilters(start=start, end=today)
    )
    context = {
        "data": data,
        "days": days,
        "start": start,
        "end": today,
        "workspaces": selectors.workspace_grid(org=org, rows=data["by_workspace"]),
        "recent": selectors.conversion_list_recent(org=org),
        "figures": {
            "funnel": kpi_charts.funnel(
                selectors.conversion_funnel(org=org, start=start, end=today),
                selectors.CONVERSION_FUNNEL,
            ),
            "timeline": charts.timeline(data["trends"], org.currency),
        },
    }
    response = render(request, "api/conversions.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response
