from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.orgs import services
from apps.orgs.access import member_required
from apps.orgs.adapters import SESSION_INVITATION_KEY
from apps.orgs.forms import InvitationForm, OrganizationSettingsForm, OrgSwitchForm
from apps.orgs.middleware import SESSION_ORG_KEY
from apps.orgs.models import ADMIN_ROLES, Invitation, Membership, TeamMember


@member_required()
def settings_page(request):
    org = request.org
    can_admin = request.membership.can_admin
    form = OrganizationSettingsForm(instance=org)
    if request.method == "POST":
        if not can_admin:
            from django.core.exceptions import PermissionDenied

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
            "members": Membership.objects.for_org(org).select_related("user").order_by("role"),
            "invitations": Invitation.objects.for_org(org).filter(accepted_at__isnull=True),
        },
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
    membership = Membership.objects.filter(
        user=request.user, org_id=form.cleaned_data["org"]
    ).first()
    if membership is None:
        raise Http404
    request.session[SESSION_ORG_KEY] = membership.org_id
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
