"""The org's roster, as the providers' syncs see it: provider users linked to team members."""

from __future__ import annotations

from django.db.models.functions import Lower

from apps.orgs.models import Organization, TeamMember


def team_member_link(
    *, org: Organization, provider: str, external_id: str, email: str | None, name: str | None
) -> TeamMember | None:
    """The roster entry for a provider user, matched by email and created when missing.

    New entries get no sales role: an admin decides that; the external id is what lets
    hosts and owners map to the roster either way.
    """
    email = (email or "").strip()
    member = None
    if email:
        member = (
            TeamMember.objects.for_org(org)
            .annotate(email_lower=Lower("email"))
            .filter(email_lower=email.lower())
            .first()
        )
    if member is None:
        member = (
            TeamMember.objects.for_org(org)
            .filter(**{f"external_ids__{provider}": external_id})
            .first()
        )
    if member is None:
        if not email:
            return None
        member = TeamMember.objects.create(
            org=org, name=name or email, email=email, external_ids={provider: external_id}
        )
        return member
    if member.external_ids.get(provider) != external_id:
        member.external_ids = {**member.external_ids, provider: external_id}
        member.save(update_fields=["external_ids"])
    return member
