"""Platform superusers visiting an organisation they are not a member of.

They see every page of any org, as an owner would, but change nothing there: they are support
staff looking at a customer's data, and a write should come from a member (or go through Django
admin, where superusers act as themselves). The rule is enforced once, by ``OrgMiddleware``.
"""

from django.core.exceptions import PermissionDenied

from apps.orgs.models import Membership, Organization, Role

READ_ONLY_MESSAGE = (
    "You are viewing {org} as a platform admin, read-only: join {org} as a member to change "
    "anything here (or use Django admin)."
)


def platform_visit(*, user, org: Organization) -> Membership:
    """An unsaved membership that lets a superuser read ``org``; never stored."""
    visit = Membership(user=user, org=org, role=Role.OWNER)
    visit.is_platform_visit = True
    return visit


def is_platform_visit(membership: Membership | None) -> bool:
    return bool(membership) and getattr(membership, "is_platform_visit", False)


def visitable_orgs(user):
    """The orgs a user may switch to: their own, and every org for a superuser."""
    if user.is_superuser:
        return Organization.objects.order_by("name")
    return Organization.objects.filter(memberships__user=user).order_by("name")


def refuse_write_on_visit(request) -> None:
    if is_platform_visit(request.membership):
        raise PermissionDenied(READ_ONLY_MESSAGE.format(org=request.membership.org.name))
