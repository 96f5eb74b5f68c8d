from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods

from apps.orgs.access import get_object_for_member, member_required, tenant_object
from apps.orgs.calendar import org_today
from apps.orgs.csv import csv_response
from apps.orgs.models import MANAGER_ROLES, REP_ROLES
from apps.payments.forms import LedgerFilterForm, PayoutSnapshotForm
from apps.payments.models import PayoutSnapshot
from apps.payments.selectors import (
    payment_ledger,
    payment_totals,
    payout_snapshots,
    unassigned_payments,
)
from apps.payments.services import payout_snapshot_create

# DESIGN.md roles: managers and above see every record of the org, closers and setters their
# own; viewers have read-only dashboards, not the ledger.
LEDGER_ROLES = MANAGER_ROLES | REP_ROLES


def _today(org) -> date:
    return org_today(org)


def _query_without(request, *names) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@member_required(roles=LEDGER_ROLES)
@require_GET
def payment_list(request):
    org = request.org
    form = LedgerFilterForm(request.GET, org=org, membership=request.membership, today=_today(org))
    filters = form.filters()
    start, end = filters.start, filters.end
    rows = payment_ledger(membership=request.membership, filters=filters)
    totals = payment_totals(org=org, qs=rows)
    if request.GET.get("format") == "csv":
        return _payments_csv(rows, totals, start, end)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "filters": filters,
        "start": start,
        "end": end,
        "page": page,
        "totals": totals,
        "query": _query_without(request, "format", "page"),
        "unassigned": (
            unassigned_payments(org=org).count() if request.membership.can_admin else None
        ),
    }
    template = "payments/payment_list.html#body" if request.htmx else "payments/payment_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


PAYMENTS_CSV_HEADER = [
    "paid_at",
    "contact",
    "provider",
    "external_id",
    "status",
    "currency",
    "amount",
    "refunded",
    "net",
    "closer",
    "setter",
    "credit",
]


def _payments_csv(rows, totals, start, end) -> HttpResponse:
    return csv_response(
        f"payments-{start}-{end}.csv", PAYMENTS_CSV_HEADER, _payments_csv_rows(rows, totals)
    )


def _payments_csv_rows(rows, totals):
    for p in rows.iterator(chunk_size=1000):
        yield [
            p.paid_at.isoformat(),
            str(p.contact) if p.contact else "",
            p.provider,
            p.external_id,
            p.status,
            p.currency,
            p.amount,
            p.refunded,
            p.net,
            p.closer.name if p.closer else "",
            p.setter.name if p.setter else "",
            p.credit_basis,
        ]
    for total in totals:
        yield [
            "TOTAL succeeded",
            f"{total.count} payments",
            "",
            "",
            "",
            total.currency,
            total.gross,
            total.refunds,
            total.net,
            "",
            "",
            "",
        ]


@member_required(roles=MANAGER_ROLES)
@require_http_methods(["GET", "POST"])
def payout_list(request):
    org = request.org
    if request.method == "POST":
        form = PayoutSnapshotForm(request.POST)
        if form.is_valid():
            start, end = form.period()
            snapshot = payout_snapshot_create(org=org, start=start, end=end, actor=request.user)
            messages.success(request, f"Payout snapshot for {start} – {end} created.")
            return redirect("payments:payout_detail", pk=snapshot.pk)
        status = 422
    else:
        form = PayoutSnapshotForm()
        status = 200
    context = {"form": form, "snapshots": payout_snapshots(org=org)[:100]}
    return render(request, "payments/payout_list.html", context, status=status)


@member_required(roles=MANAGER_ROLES)
@require_GET
@tenant_object(PayoutSnapshot)
def payout_detail(request, pk: int):
    snapshot = get_object_for_member(PayoutSnapshot.objects.for_org(request.org), pk)
    lines = snapshot.lines.select_related("payment", "payment__contact").order_by("id")
    if request.GET.get("format") == "csv":
        return _payout_csv(snapshot, lines)
    return render(
        request,
        "payments/payout_detail.html",
        {"snapshot": snapshot, "lines": lines, "summary": snapshot.summary},
    )


PAYOUT_CSV_HEADER = [
    "payment_id",
    "paid_at",
    "role",
    "member",
    "source",
    "currency",
    "gross",
    "net",
    "percent",
    "commission",
    "adjustment",
    "refund_id",
]


def _payout_csv(snapshot, lines) -> HttpResponse:
    filename = f"payout-{snapshot.pk}-{snapshot.period_start}-{snapshot.period_end}.csv"
    return csv_response(filename, PAYOUT_CSV_HEADER, _payout_csv_rows(snapshot, lines))


def _payout_csv_rows(snapshot, lines):
    for line in lines:
        yield [
            line.payment_id or "",
            line.paid_at.isoformat() if line.paid_at else "",
            line.role,
            line.member_name,
            line.source,
            line.currency,
            line.gross_amount,
            line.net_amount,
            line.percent,
            line.commission,
            "yes" if line.is_adjustment else "",
            line.refund_id or "",
        ]
    for currency, data in (snapshot.summary or {}).items():
        for group in ("closers", "setters", "sources"):
            for row in data[group]:
                yield [
                    f"SUMMARY {group}",
                    "",
                    "",
                    row["name"],
                    "",
                    currency,
                    "",
                    row["net"],
                    "",
                    row["commission"],
                    "",
                    "",
                ]
        totals = data["totals"]
        yield [
            "TOTAL",
            "",
            "",
            "",
            "",
            currency,
            "",
            totals["net"],
            "",
            totals["commission"],
            totals["adjustments"],
            "",
        ]
