from apps.orgs.models import Membership, Organization
from apps.orgs.visits import platform_visit


def _switchable(user) -> list[Membership]:
    own = list(Membership.objects.filter(user=user).select_related("org").order_by("org__name"))
    if not user.is_superuser:
        return own
    mine = {m.org_id: m for m in own}
    return [
        mine.get(org.pk) or platform_visit(user=user, org=org)
        for org in Organization.objects.order_by("name")
    ]


def org(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = request.membership or None
    return {
        "current_membership": membership,
        "current_org": membership.org if membership else None,
        # A superuser's switcher lists every org: the ones they are not in open read-only.
        "user_memberships": _switchable(user),
    }
