"""Deal reads: the deals a member may see, filtered, with totals kept per currency."""

from __future__ import annotations

from django.db.models import QuerySet
from django.db.models.functions import Coalesce

from apps.deals.models import Deal
from apps.orgs.access import credited_rows_for_member
from apps.orgs.calendar import org_period_bounds
from apps.orgs.models import Membership, Organization
from apps.payments.selectors import LedgerFilters


def deal_list_for_member(*, membership: Membership) -> QuerySet[Deal]:
    return credited_rows_for_member(Deal.objects.for_org(membership.org), membership)


def deal_ledger(*, membership: Membership, filters: LedgerFilters) -> QuerySet[Deal]:
    """Deals dated by when they were won (KPIS.md), else by when they were created."""
    lo, hi = org_period_bounds(membership.org, filters.start, filters.end)
    qs = (
        deal_list_for_member(membership=membership)
        .annotate(dated=Coalesce("closed_at", "created_at"))
        .filter(dated__gte=lo, dated__lt=hi)
    )
    if filters.closer is not None:
        qs = qs.filter(closer=filters.closer)
    if filters.setter is not None:
        qs = qs.filter(setter=filters.setter)
    if filters.provider:
        qs = qs.filter(provider=filters.provider)
    if filters.status:
        qs = qs.filter(status=filters.status)
    return qs.select_related("contact", "closer", "setter", "pcf").order_by("-dated", "-id")


def deal_totals(*, org: Organization, qs: QuerySet[Deal]):
    from apps.payments.selectors import currency_totals

    return currency_totals(org=org, qs=qs, amount_fields={"gross": "value"})
