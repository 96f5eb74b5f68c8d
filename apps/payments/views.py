from django.core.paginator import Paginator
from django.shortcuts import render

from apps.orgs.access import member_required
from apps.payments.selectors import payment_list_for_member


@member_required()
def payment_list(request):
    qs = payment_list_for_member(membership=request.membership).select_related(
        "contact", "closer", "setter"
    )
    page = Paginator(qs.order_by("-paid_at", "-id"), 50).get_page(request.GET.get("page"))
    return render(request, "payments/payment_list.html", {"page": page})
