from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import render

from apps.contacts.models import Contact
from apps.contacts.selectors import (
    contact_list_for_member,
    contact_search,
    contact_timeline_for_member,
    get_contact_for_member,
)
from apps.orgs.access import member_required, tenant_object


@member_required()
def contact_list(request):
    query = request.GET.get("q", "")
    qs = contact_search(
        qs=contact_list_for_member(membership=request.membership),
        query=query,
        default_region=request.org.default_region,
    )
    # Merged-away contacts are not listed; the one that absorbed them says so.
    qs = qs.annotate(absorbed=Count("merged_contacts", distinct=True))
    page = Paginator(qs.order_by("-first_seen_at", "-id"), 50).get_page(request.GET.get("page"))
    template = (
        "contacts/contact_list.html#results" if request.htmx else "contacts/contact_list.html"
    )
    response = render(request, template, {"page": page, "query": query})
    response["Vary"] = "HX-Request"
    return response


@member_required()
@tenant_object(Contact)
def contact_detail(request, pk: int):
    contact = get_contact_for_member(request, pk)
    context = contact_timeline_for_member(membership=request.membership, contact=contact)
    return render(request, "contacts/contact_detail.html", {"contact": contact, **context})
