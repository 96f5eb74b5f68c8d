"""One rep scope (orgs.access.rep_side) for the dashboard and the rep portal: the login's role
decides, the roster flags only for a rep without a closer or setter login (a magic link)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.deals.models import Deal
from apps.kpis.services import rollup_rebuild
from apps.meetings.services import magic_link_token
from apps.orgs.access import rep_side
from apps.orgs.models import Membership
from tests.factories import ContactFactory, DealFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db


def _won_this_month(team_a, **credit):
    return DealFactory(
        org=team_a.org,
        contact=ContactFactory(org=team_a.org),
        status=Deal.Status.WON,
        closed_at=timezone.now(),
        **credit,
    )


def test_the_role_of_the_login_decides_over_the_roster_flags(team_a):
    member = team_a.setter_member
    member.is_closer = True  # on the roster as both
    member.save()
    membership = Membership.objects.get(org=team_a.org, user=team_a.setter)
    assert rep_side(member=member, membership=membership) == "setter"
    assert rep_side(member=member) == "closer"  # no login: a closer by the flags
    setter_only = TeamMemberFactory(org=team_a.org, is_setter=True)
    assert rep_side(member=setter_only) == "setter"


def test_the_portal_shows_a_setter_their_setter_numbers_like_the_dashboard(client, team_a):
    member = team_a.setter_member
    member.is_closer = True
    member.save()
    # Credited as setter on one won deal, as closer on two.
    _won_this_month(team_a, setter=member, closer=team_a.closer_member)
    _won_this_month(team_a, closer=member)
    _won_this_month(team_a, closer=member)
    rollup_rebuild(org=team_a.org)
    client.force_login(team_a.setter)
    portal = dict(client.get(reverse("rep:portal")).context["kpis"])
    assert portal["Deals won"] == "1"
    dashboard = client.get(reverse("kpis:dashboard"))
    assert dashboard.status_code == 200
    assert dashboard.context["filters"].setter == member
    # Through a magic link (no login) the roster flags decide: a closer's numbers.
    magic = client.get(reverse("rep:magic_home", kwargs={"token": magic_link_token(member=member)}))
    assert dict(magic.context["kpis"])["Deals won"] == "2"
