"""A rep's commission statement in the rep portal: their own lines of every standing payout
snapshot and of the running period. Signed in, a closer or setter sees their own roster entry's
statement and nobody else's; a signed statement link shows the one rep it names, and an
expired or altered link is a 404 like any unknown page."""

from django.core import signing
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.meetings.statements import statement_link_member
from apps.orgs.access import member_required, rep_team_member
from apps.orgs.models import TeamMember
from apps.payments.selectors import payout_statement


def _render(request, member: TeamMember):
    org = member.org
    periods = payout_statement(
        org=org, member=member, today=timezone.localdate(timezone=org.tzinfo)
    )
    return render(
        request,
        "rep/statement.html",
        {"member": member, "periods": periods, "org_currency": org.currency},
    )


@member_required()
@require_GET
def statement(request):
    member = rep_team_member(request.membership)
    if member is None:
        return render(request, "rep/statement.html", {"member": None})
    return _render(request, member)


@require_GET
def statement_link(request, token: str):
    try:
        member = statement_link_member(token=token)
    except (signing.BadSignature, TeamMember.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    return _render(request, member)
