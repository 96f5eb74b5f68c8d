from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from apps.orgs.access import is_rep, rep_team_member
from apps.orgs.models import Membership
from apps.payments.models import Payment, Refund


def payment_list_for_member(*, membership: Membership) -> QuerySet[Payment]:
    qs = Payment.objects.for_org(membership.org)
    if is_rep(membership):
        member = rep_team_member(membership)
        if member is None:
            return qs.none()
        qs = qs.filter(Q(closer=member) | Q(setter=member))
    refunded = (
        Refund.objects.filter(payment=OuterRef("pk"))
        .values("payment")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    zero = Value(0, output_field=DecimalField(max_digits=14, decimal_places=2))
    return qs.annotate(refunded=Coalesce(Subquery(refunded), zero))
