from django.db.models import Q, QuerySet

from apps.contacts.models import Contact
from apps.meetings.selectors import meeting_list_for_member
from apps.orgs.access import get_object_for_member, is_rep
from apps.orgs.models import Membership


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
