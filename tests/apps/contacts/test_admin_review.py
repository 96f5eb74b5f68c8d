"""The review queue in Django admin: accept, reject, merge selected, unmerge; owners and admins only."""

import pytest
from django.urls import reverse

from apps.contacts.models import Contact, ContactMerge, MergeCandidate
from apps.contacts.services import contact_resolve
from tests.apps.contacts.helpers import person

pytestmark = pytest.mark.django_db


@pytest.fixture
def candidate(team_a):
    contact_resolve(
        org=team_a.org,
        observation=person(
            email="ann.lee@onefold.io", phone="+14155550100", first="Ann", last="Lee"
        ),
    )
    contact_resolve(
        org=team_a.org,
        observation=person(
            email="ann@twofold.io", phone="+14155550100", first="Ann", last="Lee", days=1
        ),
    )
    return MergeCandidate.objects.get(org=team_a.org)


def change_url(candidate):
    return reverse("admin:contacts_mergecandidate_change", args=[candidate.pk])


def test_an_owner_sees_both_contacts_side_by_side_with_the_reasons(client, team_a, candidate):
    client.force_login(team_a.owner)
    page = client.get(change_url(candidate)).content.decode()
    assert "ann.lee@onefold.io" in page and "ann@twofold.io" in page
    assert candidate.reasons[0] in page
    assert "Accept: merge" in page


def test_accepting_from_the_change_page_merges_the_pair(client, team_a, candidate):
    client.force_login(team_a.admin)
    response = client.post(change_url(candidate), {"_accept": "1"})
    assert response.status_code == 302
    candidate.refresh_from_db()
    assert candidate.status == "accepted"
    assert Contact.objects.filter(org=team_a.org, merged_into__isnull=True).count() == 1


def test_rejecting_with_the_list_action_keeps_the_pair_apart(client, team_a, candidate):
    client.force_login(team_a.owner)
    client.post(
        reverse("admin:contacts_mergecandidate_changelist"),
        {"action": "reject_candidates", "_selected_action": [candidate.pk]},
    )
    candidate.refresh_from_db()
    assert candidate.status == "rejected"
    assert Contact.objects.filter(org=team_a.org, merged_into__isnull=True).count() == 2


@pytest.mark.parametrize("role", ["manager", "closer", "viewer"])
def test_only_owners_and_admins_review(client, team_a, candidate, role):
    user = getattr(team_a, role)
    user.is_staff = True  # even a staff flag does not open another role's way into the queue
    user.save()
    client.force_login(user)
    assert client.post(change_url(candidate), {"_accept": "1"}).status_code == 404
    assert client.get(reverse("admin:contacts_mergecandidate_changelist")).status_code == 403
    candidate.refresh_from_db()
    assert candidate.status == "pending"


def test_an_owner_of_another_org_cannot_decide(client, team_b, candidate):
    client.force_login(team_b.owner)
    assert client.post(change_url(candidate), {"_accept": "1"}).status_code == 404
    candidate.refresh_from_db()
    assert candidate.status == "pending"


def test_merge_selected_then_unmerge_from_the_history(client, team_a, candidate):
    client.force_login(team_a.owner)
    ids = list(Contact.objects.filter(org=team_a.org).values_list("pk", flat=True))
    client.post(
        reverse("admin:contacts_contact_changelist"),
        {"action": "merge_selected", "_selected_action": ids},
    )
    merge = ContactMerge.objects.get(org=team_a.org)
    page = client.get(reverse("admin:contacts_contact_change", args=[merge.winner_id]))
    assert reverse("admin:contacts_contactmerge_change", args=[merge.pk]) in page.content.decode()
    client.post(reverse("admin:contacts_contactmerge_change", args=[merge.pk]), {"_unmerge": "1"})
    merge.refresh_from_db()
    assert merge.undone_at is not None
    assert Contact.objects.filter(org=team_a.org, merged_into__isnull=True).count() == 2
