from apps.orgs.models import Membership


def org(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = request.membership or None
    return {
        "current_membership": membership,
        "current_org": membership.org if membership else None,
        "user_memberships": Membership.objects.filter(user=user)
        .select_related("org")
        .order_by("org__name"),
    }
