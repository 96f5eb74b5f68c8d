"""The exports page: every table of the org as a streamed CSV (managers and above)."""

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.meetings import exports
from apps.orgs.access import member_required
from apps.orgs.csv import csv_response
from apps.orgs.models import MANAGER_ROLES


@member_required(roles=MANAGER_ROLES)
@require_GET
def export_list(request):
    org = request.org
    table = request.GET.get("table")
    if not table:
        return render(
            request, "meetings/exports.html", {"config_tables": exports.CONFIG_TABLES.values()}
        )
    stamp = timezone.localdate(timezone=org.tzinfo)
    if table == "contacts":
        return csv_response(
            f"contacts-{stamp}.csv",
            exports.CONTACT_HEADER,
            exports.contact_rows(membership=request.membership),
        )
    config = exports.CONFIG_TABLES.get(table)
    if config is None:
        raise Http404("No such table.")
    header, rows = config.build(org)
    return csv_response(f"{table}-{stamp}.csv", header, rows)
