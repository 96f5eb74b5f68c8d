from datetime import UTC, datetime, timedelta

from allauth.mfa.models import Authenticator
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from apps.orgs.models import (
    ADMIN_ROLES,
    AuditLog,
    Invitation,
    Membership,
    Organization,
    Role,
    TeamMember,
    User,
)

# A burst of bad webhook signatures: this many for one org inside one window is worth an audit
# row (and a look at the integrations page); fewer is a provider's retry or a stray scanner.
WEBHOOK_REJECTION_BURST = 10
WEBHOOK_REJECTION_WINDOW = timedelta(minutes=15)
# A lockout is audited once per user and window however often the locked-out form is posted.
LOCKOUT_AUDIT_WINDOW = timedelta(minutes=5)


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


def audit_user_event(*, user: User, action: str, actor: User | None = None, **data) -> int:
    """One row per org ``user`` belongs to, for events of an account rather than of an org
    (sign-ins, password and MFA changes): every org the account can reach should see them.
    The target is the user's id; no email, IP or secret is written. Returns the rows written."""
    org_ids = list(Membership.objects.filter(user=user).values_list("org_id", flat=True))
    rows = [
        AuditLog(
            org_id=org_id,
            actor=actor if actor is not None and actor.is_authenticated else None,
            action=action,
            target_type=User._meta.label_lower,
            target_id=str(user.pk),
            data=data,
        )
        for org_id in org_ids
    ]
    AuditLog.objects.bulk_create(rows)
    return len(rows)


def audit_lockout(*, user: User) -> bool:
    """Audits that sign-in is rate-limited for ``user``, once per ``LOCKOUT_AUDIT_WINDOW``: a
    script hammering a locked form must not flood the trail. True when a row was written."""
    window = int(LOCKOUT_AUDIT_WINDOW.total_seconds())
    if not cache.add(f"audit:lockout:{user.pk}", 1, timeout=window):
        return False
    audit_user_event(user=user, action="auth.lockout")
    return True


def audit_webhook_rejection(*, org: Organization, provider: str, now=None) -> bool:
    """Counts one rejected webhook signature; the ``WEBHOOK_REJECTION_BURST``-th of a window
    writes the window's one audit row. True when it did.

    Windows are fixed slots of ``WEBHOOK_REJECTION_WINDOW`` and the counter is Redis' atomic
    increment, so concurrent rejections write exactly one row per org and window.
    """
    now = now or timezone.now()
    size = int(WEBHOOK_REJECTION_WINDOW.total_seconds())
    slot = int(now.timestamp()) // size
    key = f"audit:webhook-rejections:{org.pk}:{slot}"
    count = 1 if cache.add(key, 1, timeout=2 * size) else cache.incr(key)
    if count != WEBHOOK_REJECTION_BURST:
        return False
    audit_log_write(
        org=org,
        actor=None,
        action="webhook.signature_burst",
        provider=provider,
        rejected=count,
        window_start=datetime.fromtimestamp(slot * size, tz=UTC).isoformat(),
        window_minutes=size // 60,
    )
    return True


def audit_foreign_access(*, org: Organization, actor: User | None, model, pk) -> bool:
    """Audits a member asking for an id that exists, but in another org (they got the usual
    404). Missing ids are typos and stay unaudited. True when a row was written."""
    if not any(f.name == "org" for f in model._meta.get_fields()):
        return False
    try:
        foreign = model._base_manager.filter(pk=pk).exclude(org=org).exists()
    except (ValueError, TypeError, ValidationError):
        return False
    if not foreign:
        return False
    AuditLog.objects.create(
        org=org,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action="access.foreign_id",
        target_type=model._meta.label_lower,
        target_id=str(pk)[:64],
    )
    return True


def mfa_reset(*, user: User, actor: User) -> int:
    """Removes every authenticator of ``user`` (a lost phone), audited in each of their orgs.

    Platform superusers may reset anyone. An org's owner or admin may reset a member only when
    they administer every org the member belongs to (so nobody weakens a login another org
    relies on), never a superuser, and only owners reset owners. Resetting oneself is the
    user's own deactivation in the account pages, audited there. Returns how many were removed.
    """
    if user.pk == actor.pk:
        raise PermissionDenied("Remove your own authenticators from your account's security page.")
    if not actor.is_superuser:
        roles_of_actor = dict(Membership.objects.filter(user=actor).values_list("org_id", "role"))
        for org_id, role in Membership.objects.filter(user=user).values_list("org_id", "role"):
            actor_role = roles_of_actor.get(org_id)
            if actor_role not in ADMIN_ROLES or (role == Role.OWNER and actor_role != Role.OWNER):
                raise PermissionDenied("You may not reset this person's two-factor authentication.")
        if user.is_superuser or not Membership.objects.filter(user=user).exists():
            raise PermissionDenied("You may not reset this person's two-factor authentication.")
    with transaction.atomic():
        authenticators = Authenticator.objects.select_for_update().filter(user=user)
        types = sorted({a.type for a in authenticators})
        removed, _ = authenticators.delete()
        if removed:
            audit_user_event(user=user, action="mfa.reset", actor=actor, types=types)
    return removed


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
                user=user.pk,
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
        audit_log_write(
            org=invitation.org,
            actor=user,
            action="invitation.accept",
            target=invitation,
            role=invitation.role,
        )
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


# --- roster -------------------------------------------------------------------------------------


def team_member_link(
    *,
    org: Organization,
    provider: str,
    external_id: str | None,
    email: str | None,
    name: str | None = None,
    is_closer: bool = False,
    is_setter: bool = False,
) -> TeamMember | None:
    """The roster entry of a provider's user (a Calendly host, a Close user), found or added.

    The one roster rule, whoever sees the person first (a webhook's host, a nightly sync's
    user list):
    1. the email, case-insensitively (the roster's unique constraint is on its lower case): it
       is what an admin put on the roster, and one provider account shared by two people (a
       team calendar) must not turn one into the other;
    2. else the provider's id, for a provider that sends no email or a changed one; a found
       entry gets the provider id recorded either way;
    3. else, with an email, a new entry: inactive (an admin confirms who is on the team, so
       which path saw the person first never decides it), the email in lower case, the name
       given or made from the email, the roles the caller can tell (a solution call's host is
       a closer), the provider id;
    4. without an email nothing is created: the roster keys people by email;
    5. a concurrent delivery creating the same email first is not an error: its row is used.
    """
    roster = TeamMember.objects.for_org(org)
    email = (email or "").strip().lower()
    member = roster.filter(email__iexact=email).first() if email else None
    if member is None and external_id:
        member = roster.filter(**{f"external_ids__{provider}": external_id}).first()
    if member is None:
        if not email:
            return None
        try:
            with transaction.atomic():
                return TeamMember.objects.create(
                    org=org,
                    name=name or email.split("@")[0].replace(".", " ").title(),
                    email=email,
                    active=False,
                    is_closer=is_closer,
                    is_setter=is_setter,
                    external_ids={provider: external_id} if external_id else {},
                )
        except IntegrityError:  # created concurrently by another delivery
            member = roster.get(email__iexact=email)
    if external_id and member.external_ids.get(provider) != external_id:
        member.external_ids = {**member.external_ids, provider: external_id}
        member.save(update_fields=["external_ids"])
    return member
