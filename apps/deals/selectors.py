from django.db.models import Q, QuerySet

from apps.deals.models import Deal
from apps.orgs.access import is_rep, rep_team_member
from apps.orgs.models import Membership


def deal_list_for_member(*, membership: Membership) -> QuerySet[Deal]:
    qs = Deal.objects.for_org(membership.org)
    if is_rep(membership):
        member = rep_team_member(membership)
        if member is None:
            return qs.none()
        qs = qs.filter(Q(closer=member) | Q(setter=member))
    return qs
