import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.orgs import selectors, services
from apps.orgs.access import get_object_for_member, member_required, tenant_object
from apps.orgs.adapters import SESSION_INVITATION_KEY
from apps.orgs.csv import csv_response
from apps.orgs.forms import AuditFilterForm, InvitationForm, OrganizationSettingsForm, OrgSwitchForm
from apps.orgs.mfa import DEVICE_TYPES
from apps.orgs.middleware import SESSION_ORG_KEY
from apps.orgs.models import ADMIN_ROLES, Invitation, Membership, TeamMember
from apps.orgs.visits import visitable_orgs


@member_required()
def settings_page(request):
    org = request.org
    can_admin = request.membership.can_admin
    form = OrganizationSettingsForm(instance=org)
    if request.method == "POST":
        if not can_admin:
            raise PermissionDenied
        form = OrganizationSettingsForm(request.POST, instance=org)
        if form.is_valid():
            with transaction.atomic():
                form.save()
                services.audit_log_write(
                    org=org,
                    actor=request.user,
                    action="org.settings",
                    target=org,
                    changed=form.changed_data,
                )
            messages.success(request, "Settings saved.")
            return redirect("orgs:settings")
    return render(
        request,
        "orgs/settings.html",
        {
            "form": form,
            "can_admin": can_admin,
            "invite_form": InvitationForm(),
            "team": TeamMember.objects.for_org(org).select_related("user"),
            "members": _members_with_mfa(org),
            "invitations": Invitation.objects.for_org(org).filter(accepted_at__isnull=True),
        },
    )


def _members_with_mfa(org):
    from allauth.mfa.models import Authenticator
    from django.db.models import Exists, OuterRef

    devices = Authenticator.objects.filter(user=OuterRef("user"), type__in=DEVICE_TYPES)
    return (
        Membership.objects.for_org(org)
        .select_related("user")
        .annotate(has_mfa=Exists(devices))
        .order_by("role", "user__email")
    )


@member_required(roles=ADMIN_ROLES)
@tenant_object(Membership)
def mfa_reset(request, pk: int):
    # The lookup comes first, so another org's id is a 404 whatever the method.
    membership = get_object_for_member(Membership.objects.for_org(request.org), pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        removed = services.mfa_reset(user=membership.user, actor=request.user)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("orgs:settings")
    if removed:
        messages.success(
            request,
            f"Two-factor authentication of {membership.user.email} was reset: they set it up "
            "again at their next sign-in.",
        )
    else:
        messages.info(request, f"{membership.user.email} had no two-factor authentication.")
    return redirect("orgs:settings")


AUDIT_CSV_HEADER = ["created_at", "action", "actor_id", "actor", "target_type", "target_id", "data"]


def _audit_filtered(request):
    form = AuditFilterForm(
        request.GET or None, org=request.org, actions=selectors.audit_actions(org=request.org)
    )
    filters = form.cleaned_data if form.is_valid() else {}
    rows = selectors.audit_log_list(
        org=request.org,
        action=filters.get("action") or "",
        actor=filters.get("actor"),
        start=filters.get("start"),
        end=filters.get("end"),
    )
    return form, rows


@member_required(roles=ADMIN_ROLES)
@require_GET
def audit_page(request):
    form, rows = _audit_filtered(request)
    return render(
        request,
        "orgs/audit.html",
        {
            "form": form,
            "page": Paginator(rows, 50).get_page(request.GET.get("page")),
            "csv_query": request.GET.urlencode(),
        },
    )


@member_required(roles=ADMIN_ROLES)
@require_GET
def audit_csv(request):
    _form, rows = _audit_filtered(request)
    # The download streams after AuditMiddleware has logged it: the trail stops at the request.
    rows = rows.filter(created_at__lte=timezone.now())
    return csv_response(
        f"audit-{request.org.slug}.csv",
        AUDIT_CSV_HEADER,
        (
            [
                row.created_at.isoformat(),
                row.action,
                row.actor_id,
                row.actor.email if row.actor else "",
                row.target_type,
                row.target_id,
                json.dumps(row.data, sort_keys=True),
            ]
            for row in rows.iterator(chunk_size=1000)
        ),
    )


@require_POST
@member_required(roles=ADMIN_ROLES)
def invite(request):
    form = InvitationForm(request.POST)
    if form.is_valid():
        services.invitation_create(
            org=request.org,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            actor=request.user,
            base_url=request.build_absolute_uri("/")[:-1],
        )
        messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
    else:
        messages.error(request, "Enter a valid email address and role.")
    return redirect("orgs:settings")


@require_POST
@login_required
def switch_org(request):
    form = OrgSwitchForm(request.POST)
    if not form.is_valid():
        raise Http404
    org = visitable_orgs(request.user).filter(pk=form.cleaned_data["org"]).first()
    if org is None:
        raise Http404
    request.session[SESSION_ORG_KEY] = org.pk
    return redirect("kpis:dashboard")


def invitation_accept(request, token: str):
    invitation = get_object_or_404(Invitation, token=token)
    if request.user.is_authenticated and invitation.email.lower() != request.user.email.lower():
        # Someone else's invitation: as if it did not exist.
        raise Http404
    if not invitation.is_usable:
        return render(request, "orgs/invitation_invalid.html", status=410)
    if request.user.is_authenticated:
        services.invitation_accept(invitation=invitation, user=request.user)
        request.session[SESSION_ORG_KEY] = invitation.org_id
        messages.success(request, f"You joined {invitation.org.name}.")
        return redirect("kpis:dashboard")
    request.session[SESSION_INVITATION_KEY] = invitation.token
    return redirect(f"/accounts/signup/?email={invitation.email}")


@login_required
def no_org(request):
    if request.membership:
        return redirect("kpis:dashboard")
    return render(request, "orgs/no_org.html")
