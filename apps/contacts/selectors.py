from django.db.models import Q, QuerySet

from apps.contacts.models import Contact
from apps.deals.selectors import deal_list_for_member
from apps.meetings.selectors import meeting_list_for_member
from apps.orgs.access import get_object_for_member, is_rep, sees_money
from apps.orgs.models import Membership
from apps.payments.selectors import payment_list_for_member


def contact_list_for_member(*, membership: Membership) -> QuerySet[Contact]:
    """Live (not merged-away) contacts; reps see only people they have a call with."""
    qs = Contact.objects.for_org(membership.org).filter(merged_into__isnull=True)
    if is_rep(membership):
        qs = qs.filter(pk__in=meeting_list_for_member(membership=membership).values("contact_id"))
    return qs


def contact_search(*, qs: QuerySet[Contact], query: str, default_region: str) -> QuerySet[Contact]:
    """Name, email or phone in any format (the phone is normalized like the identifiers)."""
    import phonenumbers

    query = query.strip()
    if not query:
        return qs
    condition = Q(identifiers__value__iexact=query.lower())
    for word in query.split():
        condition |= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    condition |= Q(primary_email__icontains=query)
    try:
        number = phonenumbers.parse(query, default_region)
        if phonenumbers.is_possible_number(number):
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            condition |= Q(identifiers__value=e164)
    except phonenumbers.NumberParseException:
        pass
    return qs.filter(condition).distinct()


def get_contact_for_member(request, pk) -> Contact:
    return get_object_for_member(contact_list_for_member(membership=request.membership), pk)


def contact_timeline_for_member(*, membership: Membership, contact: Contact) -> dict:
    """What this member sees of a contact they may open.

    A contact is shared by everyone who had a call with them, so each part is read through the
    member's own lists: a rep sees their own calls, deals and payments, never a colleague's; a
    viewer sees no deals or payments at all (``shows_money`` hides the sections rather than
    showing them empty). Source records name every provider object, another rep's payments
    included, so they are for managers, who see everything anyway.
    """
    return {
        "identifiers": contact.identifiers.order_by("kind", "-is_primary"),
        "touchpoints": contact.touchpoints.order_by("occurred_at"),
        "meetings": meeting_list_for_member(membership=membership)
        .filter(contact=contact)
        .select_related("closer", "setter", "pcf")
        .order_by("scheduled_at"),
        "deals": deal_list_for_member(membership=membership)
        .filter(contact=contact)
        .order_by("closed_at"),
        "payments": payment_list_for_member(membership=membership)
        .filter(contact=contact)
        .prefetch_related("refunds")
        .order_by("paid_at"),
        "shows_money": sees_money(membership),
        "source_records": (
            contact.source_records.order_by("received_at") if membership.can_manage else None
        ),
        # Conversions the workspaces logged (apps.api): for managers, like the conversions page.
        "conversions": (
            contact.conversions.select_related("workspace").order_by("converted_at")
            if membership.can_manage
            else None
        ),
    }
