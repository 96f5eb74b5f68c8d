from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.orgs.models import ADMIN_ROLES, AuditLog, Invitation, Membership, Organization, Role, User


def audit_log_write(*, org: Organization, actor: User | None, action: str, target=None, **data):
    """One audit row; call it inside the transaction of the write it describes."""
    return AuditLog.objects.create(
        org=org,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        data=data,
    )


def organization_create(
    *,
    slug: str,
    name: str,
    timezone_name: str = "UTC",
    currency: str = "USD",
    owner_email: str | None = None,
) -> tuple[Organization, bool]:
    """Creates the org, or returns the existing one unchanged when the slug is taken (idempotent).

    With ``owner_email``, that user (created without a usable password when new) is made an owner.
    """
    with transaction.atomic():
        org = Organization.objects.filter(slug=slug).first()
        created = org is None
        if created:
            org = Organization(slug=slug, name=name, timezone=timezone_name, currency=currency)
            org.full_clean()
            org.save()
            audit_log_write(org=org, actor=None, action="org.create", target=org)
        if owner_email:
            user = User.objects.filter(email__iexact=owner_email).first()
            if user is None:
                user = User.objects.create_user(email=owner_email)
            membership_set_role(org=org, user=user, role=Role.OWNER, actor=None)
    return org, created


def membership_set_role(*, org: Organization, user: User, role: str, actor: User | None):
    """Adds the user to the org or changes their role; owners and admins work in Django admin."""
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}; one of {', '.join(Role.values)}.")
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            org=org, user=user, defaults={"role": role}
        )
        previous = None if created else membership.role
        if not created and membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
        if role in ADMIN_ROLES and not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        if created or previous != role:
            audit_log_write(
                org=org,
                actor=actor,
                action="membership.role",
                target=membership,
                user=user.email,
                role=role,
                previous=previous,
            )
    return membership


def invitation_create(
    *, org: Organization, email: str, role: str, actor: User | None, base_url: str = ""
) -> Invitation:
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}.")
    with transaction.atomic():
        invitation = Invitation(org=org, email=email.strip().lower(), role=role, invited_by=actor)
        invitation.full_clean()
        invitation.save()
        audit_log_write(
            org=org,
            actor=actor,
            action="invitation.create",
            target=invitation,
            email=invitation.email,
            role=role,
        )
        link = base_url + reverse("orgs:invitation_accept", args=[invitation.token])
        transaction.on_commit(
            lambda: send_mail(
                subject=f"You are invited to {org.name}",
                message=f"Join {org.name} as {invitation.get_role_display()}: {link}\n"
                f"The link expires on {invitation.expires_at:%Y-%m-%d}.",
                from_email=None,
                recipient_list=[invitation.email],
            )
        )
    return invitation


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    if not invitation.is_usable:
        raise ValueError("This invitation has expired or was already used.")
    if invitation.email.lower() != user.email.lower():
        raise ValueError("This invitation was sent to another address.")
    with transaction.atomic():
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        membership = membership_set_role(
            org=invitation.org, user=user, role=invitation.role, actor=user
        )
        if invitation.role in (Role.CLOSER, Role.SETTER):
            _link_rep(invitation.org, user, invitation.role)
    return membership


def _link_rep(org: Organization, user: User, role: str) -> None:
    from apps.orgs.models import TeamMember

    member = TeamMember.objects.filter(org=org, email__iexact=user.email).first()
    if member is None:
        member = TeamMember(org=org, email=user.email, name=user.name or user.email)
    member.user = user
    member.is_closer = member.is_closer or role == Role.CLOSER
    member.is_setter = member.is_setter or role == Role.SETTER
    member.save()
