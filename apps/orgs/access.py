"""How views reach tenant-owned rows: always inside the current org, reps only their own.

A foreign id and a missing id raise the same 404, so nobody learns another org's rows exist.
"""

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.shortcuts import redirect

from apps.orgs.models import MANAGER_ROLES, REP_ROLES, Membership, Role, TeamMember


def member_required(*, roles: Iterable[str] | None = None) -> Callable:
    """Signed in, a member of the current org, and (when given) in one of ``roles``.

    Without a membership the user is sent to a page that says so; a member whose role may not
    use the view gets 403 (the view exists for them, they just may not use it).
    """
    allowed = frozenset(roles) if roles is not None else None

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            membership = request.membership or None
            if membership is None:
                return redirect("orgs:no_org")
            if allowed is not None and membership.role not in allowed:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def tenant_object(model: type[Model]) -> Callable:
    """Declares which tenant-owned model a view's ``pk`` names (the tenancy test relies on it)."""

    def decorator(view):
        view.tenant_model = model
        return view

    return decorator


def rep_team_member(membership: Membership) -> TeamMember | None:
    """The roster entry of a closer or setter who signs in; None when they have none."""
    return TeamMember.objects.filter(org=membership.org, user=membership.user).first()


def is_rep(membership: Membership) -> bool:
    return membership.role in (Role.CLOSER, Role.SETTER)


def rep_side(*, member: TeamMember, membership: Membership | None = None) -> str:
    """Whose numbers a rep sees: those credited to them as "closer" or as "setter".

    The one rule for the dashboard and the rep portal: the role the org gave the rep's login
    decides; a rep reached without a closer or setter login (a magic link, a manager on the
    roster) goes by the roster flags: a setter who is not also a closer sees a setter's
    numbers, everyone else a closer's.
    """
    if membership is not None and membership.role in (Role.CLOSER, Role.SETTER):
        return str(membership.role)
    return Role.SETTER if member.is_setter and not member.is_closer else Role.CLOSER


# Who sees single deals, payments and PCF amounts: managers and above all of them, reps their
# own. Viewers read the dashboards (DESIGN.md) and get 403 on the ledgers, so a contact or call
# page must not hand them the amounts those ledgers refuse.
MONEY_ROLES = MANAGER_ROLES | REP_ROLES


def sees_money(membership: Membership) -> bool:
    return membership.role in MONEY_ROLES


def credited_rows_for_member(queryset: QuerySet, membership: Membership) -> QuerySet:
    """Deals or payments (rows with a closer and a setter) as this member may see them: all of
    them for managers and above; for a closer or setter only the rows credited to them (none
    without a roster entry); none for a viewer. Every page listing deals or payments, a
    contact's included, goes through here."""
    if not sees_money(membership):
        return queryset.none()
    if not is_rep(membership):
        return queryset
    member = rep_team_member(membership)
    if member is None:
        return queryset.none()
    return queryset.filter(Q(closer=member) | Q(setter=member))


class ObjectNotFound(Http404):
    """The same 404 as any other; it carries the model and id asked for, so AuditMiddleware
    can audit an id that exists in another org."""

    def __init__(self, model: type[Model], pk):
        super().__init__()
        self.model = model
        self.pk = pk


def get_object_for_member(queryset: QuerySet, pk) -> Model:
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise ObjectNotFound(queryset.model, pk) from None
