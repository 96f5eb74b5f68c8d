from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from apps.deals.forms import DealFilterForm
from apps.deals.selectors import deal_ledger, deal_totals
from apps.forecast.selectors import with_probabilities
from apps.orgs.access import member_required
from apps.orgs.calendar import org_today
from apps.orgs.csv import csv_response
from apps.payments.views import LEDGER_ROLES


@member_required(roles=LEDGER_ROLES)
@require_GET
def deal_list(request):
    org = request.org
    today = org_today(org)
    form = DealFilterForm(request.GET, org=org, membership=request.membership, today=today)
    filters = form.filters()
    start, end = filters.start, filters.end
    rows = deal_ledger(membership=request.membership, filters=filters)
    totals = deal_totals(org=org, qs=rows)
    if request.GET.get("format") == "csv":
        return _csv(rows, totals, start, end)
    query = request.GET.copy()
    for name in ("format", "page"):
        query.pop(name, None)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    page.object_list = with_probabilities(org=org, rows=page.object_list, kind="deal")
    context = {
        "form": form,
        "filters": filters,
        "start": start,
        "end": end,
        "page": page,
        "totals": totals,
        "query": query.urlencode(),
    }
    template = "deals/deal_list.html#body" if request.htmx else "deals/deal_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


DEALS_CSV_HEADER = [
    "closed_at",
    "contact",
    "provider",
    "external_id",
    "status",
    "currency",
    "value",
    "value_period",
    "closer",
    "setter",
    "pcf_linked",
]


def _csv(rows, totals, start, end) -> HttpResponse:
    return csv_response(f"deals-{start}-{end}.csv", DEALS_CSV_HEADER, _csv_rows(rows, totals))


def _csv_rows(rows, totals):
    for d in rows.iterator(chunk_size=1000):
        yield [
            d.closed_at.isoformat() if d.closed_at else "",
            str(d.contact) if d.contact else "",
            d.provider,
            d.external_id,
            d.status,
            d.currency,
            d.value,
            d.value_period,
            d.closer.name if d.closer else "",
            d.setter.name if d.setter else "",
            "yes" if d.pcf_id else "",
        ]
    for total in totals:
        yield ["TOTAL", f"{total.count} deals", "", "", "", total.currency, total.gross] + [""] * 4
