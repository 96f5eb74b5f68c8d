"""The one roster rule (orgs.services.team_member_link), one test per point where the sync's and
the webhooks' lookups used to disagree: lookup order, active flag, email case, concurrent
creation."""

import threading
from unittest import mock

import pytest
from django.db import connection

from apps.integrations import sync
from apps.meetings.models import CallType
from apps.meetings.services import team_member_for_host
from apps.orgs.models import TeamMember
from apps.orgs.services import team_member_link
from tests.factories import TeamMemberFactory

CALENDLY = "https://api.calendly.com/users"


@pytest.mark.django_db
def test_the_email_wins_over_the_provider_id(team_a):
    org = team_a.org
    by_id = TeamMemberFactory(org=org, email="old@org-a.example", external_ids={"close": "u1"})
    by_email = TeamMemberFactory(org=org, email="new@org-a.example")
    # Both callers: a sync's user list and a webhook's host.
    assert (
        team_member_link(org=org, provider="close", external_id="u1", email="new@org-a.example")
        == by_email
    )
    uri = f"{CALENDLY}/A"
    TeamMemberFactory(org=org, email="a@org-a.example", external_ids={"calendly": uri})
    assert team_member_for_host(org=org, email=by_id.email, calendly_uri=uri) == by_id
    # Without an email, the id finds its entry.
    assert team_member_link(org=org, provider="close", external_id="u1", email=None) == by_id
    assert sync.team_member_link is team_member_link  # the sync reads the same rule


@pytest.mark.django_db
def test_a_match_by_email_ignores_case_and_records_the_provider_id(team_a):
    org = team_a.org
    member = team_a.closer_member
    found = team_member_for_host(
        org=org, email=f"  {member.email.upper()} ", calendly_uri=f"{CALENDLY}/C"
    )
    assert found == member
    member.refresh_from_db()
    assert member.external_ids == {"calendly": f"{CALENDLY}/C"}
    # A later delivery without the email finds it by that id.
    assert team_member_for_host(org=org, email=None, calendly_uri=f"{CALENDLY}/C") == member


@pytest.mark.django_db
def test_a_new_person_is_added_inactive_in_lower_case_whoever_saw_them_first(team_a):
    org = team_a.org
    synced = team_member_link(
        org=org, provider="close", external_id="u7", email="New.Rep@Org-A.example", name="New Rep"
    )
    hosted = team_member_for_host(
        org=org,
        email="Jane.Doe@Org-A.example",
        calendly_uri=f"{CALENDLY}/J",
        call_type=CallType.SOLUTION,
    )
    assert (synced.active, hosted.active) == (False, False)
    assert (synced.email, hosted.email) == ("new.rep@org-a.example", "jane.doe@org-a.example")
    assert (synced.name, hosted.name) == ("New Rep", "Jane Doe")
    assert (synced.is_closer, synced.is_setter) == (False, False)
    assert (hosted.is_closer, hosted.is_setter) == (True, False)
    assert hosted.external_ids == {"calendly": f"{CALENDLY}/J"}


@pytest.mark.django_db
def test_without_an_email_nothing_is_created(team_a):
    org = team_a.org
    before = TeamMember.objects.count()
    assert team_member_link(org=org, provider="close", external_id="u9", email="") is None
    assert team_member_for_host(org=org, email=None, calendly_uri=f"{CALENDLY}/N") is None
    assert TeamMember.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_creation_of_the_same_email_is_used_not_raised(team_a):
    org = team_a.org
    real_create = TeamMember.objects.create

    def other_delivery(fields):
        try:
            real_create(**{**fields, "external_ids": {}})
        finally:
            connection.close()

    def raced(**fields):
        # Another delivery commits the same person between our lookup and our insert.
        other = threading.Thread(target=other_delivery, args=(fields,))
        other.start()
        other.join()
        return real_create(**fields)

    with mock.patch.object(TeamMember.objects, "create", side_effect=raced):
        member = team_member_link(
            org=org, provider="close", external_id="u5", email="race@org-a.example"
        )
    assert member.email == "race@org-a.example"
    assert member.external_ids == {"close": "u5"}
    assert TeamMember.objects.filter(org=org, email="race@org-a.example").count() == 1


@pytest.mark.django_db
def test_another_orgs_entry_is_never_found(team_a, team_b):
    theirs = team_member_link(
        org=team_b.org, provider="close", external_id="u1", email=team_a.closer.email
    )
    assert theirs.org == team_b.org and theirs != team_a.closer_member
