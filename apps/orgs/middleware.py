from django.conf import settings
from django.http import HttpResponseBadRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.module_loading import import_string

from apps.orgs.models import Membership, Organization
from apps.orgs.visits import platform_visit, refuse_write_on_visit

SESSION_ORG_KEY = "current_org_id"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _current_membership(request) -> Membership | None:
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = list(
        Membership.objects.filter(user=user).select_related("org").order_by("org__name")
    )
    wanted = request.session.get(SESSION_ORG_KEY)
    for membership in memberships:
        if membership.org_id == wanted:
            return membership
    if user.is_superuser and (memberships == [] or wanted is not None):
        orgs = Organization.objects.order_by("name")
        org = orgs.filter(pk=wanted).first() if wanted is not None else orgs.first()
        if org is not None:
            return platform_visit(user=user, org=org)
    return memberships[0] if memberships else None


def _may_write_outside_the_org(path: str) -> bool:
    # Choosing another org, the account pages (sign-out, two-factor) and Django admin (where a
    # superuser acts on their own platform rights) are not writes into the visited org.
    return path == reverse("orgs:switch") or path.startswith(
        (reverse("account_login").removesuffix("login/"), reverse("admin:index"))
    )


class OrgMiddleware:
    """Sets ``request.membership`` and ``request.org`` from the signed-in user's memberships.

    A user in several organisations picks one with the org switcher (stored in the session); a
    session naming an org the user no longer belongs to falls back to their first org. A
    superuser may pick any org: outside their own it is a read-only visit (``apps.orgs.visits``),
    and this is where its writes are refused, whatever the view.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _current_membership(request))
        request.org = SimpleLazyObject(
            lambda: request.membership.org if request.membership else None
        )
        if (
            request.method not in SAFE_METHODS
            and request.user.is_authenticated
            and request.user.is_superuser
            and not _may_write_outside_the_org(request.path)
        ):
            refuse_write_on_visit(request)
        return self.get_response(request)


class AuditMiddleware:
    """Audits what a view cannot see from inside: every CSV download (``csv_response`` marks
    it), and a 404 of an access helper for an id that exists in another org (someone probing
    ids). Both rows go to the requester's current org."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        filename = getattr(response, "export_filename", None)
        if filename and response.status_code == 200 and request.org:
            from apps.orgs.services import audit_log_write

            audit_log_write(
                org=request.org,
                actor=request.user,
                action="export.csv",
                filename=filename,
                path=request.path,
            )
        return response

    def process_exception(self, request, exception):
        from apps.orgs.access import ObjectNotFound
        from apps.orgs.services import audit_foreign_access

        if isinstance(exception, ObjectNotFound) and request.org:
            audit_foreign_access(
                org=request.org, actor=request.user, model=exception.model, pk=exception.pk
            )
        return None  # the 404 itself is Django's as usual


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in data.lists())


class RejectNulMiddleware:
    """A NUL character in a query string or a submitted form is a 400 on every page.

    PostgreSQL refuses NUL in text, so a search or filter holding one (``?q=%00``) raised a 500
    wherever the value reached a query. Lone surrogates cannot arrive this way: Django decodes
    parameters with ``errors="replace"``, so they reach views as U+FFFD, which PostgreSQL stores.
    """

    MESSAGE = "Request parameters may not contain NUL characters."

    def __init__(self, get_response):
        self.get_response = get_response
        # A path prefix may answer in its own format (the API's JSON error body): the app that
        # owns it names its responder in settings, so this bottom layer imports no app above it.
        self.responders = [
            (prefix, import_string(path))
            for prefix, path in settings.NUL_REJECTION_RESPONDERS.items()
        ]

    def __call__(self, request):
        if _has_nul(request.GET):
            for prefix, respond in self.responders:
                if request.path.startswith(prefix):
                    return respond(self.MESSAGE)
            return HttpResponseBadRequest(self.MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Views exempt from CSRF (the webhooks) read their raw body themselves: parsing it here
        # would consume a multipart stream before them, and their size limit would come second.
        if request.method != "POST" or getattr(view_func, "csrf_exempt", False):
            return None
        if _has_nul(request.POST):
            return HttpResponseBadRequest(self.MESSAGE, content_type="text/plain; charset=utf-8")
        return None


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
