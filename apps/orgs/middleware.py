from django.conf import settings
from django.utils.functional import SimpleLazyObject

from apps.orgs.models import Membership

SESSION_ORG_KEY = "current_org_id"


def _current_membership(request) -> Membership | None:
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = list(
        Membership.objects.filter(user=user).select_related("org").order_by("org__name")
    )
    if not memberships:
        return None
    wanted = request.session.get(SESSION_ORG_KEY)
    for membership in memberships:
        if membership.org_id == wanted:
            return membership
    return memberships[0]


class OrgMiddleware:
    """Sets ``request.membership`` and ``request.org`` from the signed-in user's memberships.

    A user in several organisations picks one with the org switcher (stored in the session); a
    session naming an org the user no longer belongs to falls back to their first org.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _current_membership(request))
        request.org = SimpleLazyObject(
            lambda: request.membership.org if request.membership else None
        )
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Sends ``Permissions-Policy`` from ``settings.PERMISSIONS_POLICY`` on every response.

    A feature mapped to an empty list is refused to the page and to every frame in it, so a
    script that slipped in still cannot open the camera or read the location.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = ", ".join(
            f"{feature}=({' '.join(allowed)})"
            for feature, allowed in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request):
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response
