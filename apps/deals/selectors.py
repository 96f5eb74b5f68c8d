"""Deal reads: the deals a member may see, filtered, with totals kept per currency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce

from apps.deals.models import Deal
from apps.orgs.access import is_rep, rep_team_member
from apps.orgs.models import Membership, Organization, TeamMember


def deal_list_for_member(*, membership: Membership) -> QuerySet[Deal]:
    qs = Deal.objects.for_org(membership.org)
    if is_rep(membership):
        member = rep_team_member(membership)
        if member is None:
            return qs.none()
        qs = qs.filter(Q(closer=member) | Q(setter=member))
    return qs


@dataclass(frozen=True)
class DealFilters:
    start: date
    end: date
    closer: TeamMember | None = None
    setter: TeamMember | None = None
    provider: str = ""
    status: str = ""


def deal_ledger(*, membership: Membership, filters: DealFilters) -> QuerySet[Deal]:
    """Deals dated by when they were won (KPIS.md), else by when they were created."""
    from apps.payments.services import period_bounds

    lo, hi = period_bounds(membership.org, filters.start, filters.end)
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
