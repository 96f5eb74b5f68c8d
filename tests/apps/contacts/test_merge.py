"""Merge moves everything; unmerge puts both contacts back exactly as they were."""

import pytest
from django.forms.models import model_to_dict

from apps.contacts.models import ContactMerge, MergeCandidate
from apps.contacts.services import (
    IdentityError,
    contact_merge,
    contact_resolve,
    contact_unmerge,
    merge_candidate_accept,
    merge_candidate_reject,
)
from apps.orgs.models import AuditLog
from tests.apps.contacts.helpers import person
from tests.factories import (
    CallActivityFactory,
    DealFactory,
    MeetingFactory,
    PaymentFactory,
    SourceRecordFactory,
    TouchpointFactory,
)

pytestmark = pytest.mark.django_db


def full_state(contact):
    contact.refresh_from_db()
    fields = model_to_dict(contact, exclude=["id"])
    fields.pop("updated_at", None)
    return {
        "fields": fields,
        "identifiers": sorted(
            contact.identifiers.values_list(
                "kind", "value", "raw", "is_primary", "shared", "source"
            )
        ),
        "source_records": sorted(contact.source_records.values_list("pk", flat=True)),
        "touchpoints": sorted(contact.touchpoints.values_list("pk", flat=True)),
        "meetings": sorted(contact.meetings.values_list("pk", flat=True)),
        "deals": sorted(contact.deals.values_list("pk", flat=True)),
        "payments": sorted(contact.payments.values_list("pk", flat=True)),
        "call_activities": sorted(contact.call_activities.values_list("pk", flat=True)),
        "name_keys": sorted(contact.name_keys.values_list("key", flat=True)),
    }


def _with_history(org, **kw):
    contact = contact_resolve(org=org, observation=person(**kw)).contact
    SourceRecordFactory(contact=contact)
    TouchpointFactory(contact=contact)
    MeetingFactory(org=org, contact=contact)
    DealFactory(org=org, contact=contact)
    PaymentFactory(org=org, contact=contact)
    CallActivityFactory(org=org, contact=contact)
    return contact


@pytest.fixture
def pair(team_a):
    org = team_a.org
    winner = _with_history(
        org,
        email="ann.lee@onefold.io",
        phone="+14155550100",
        first="Ann",
        last="Lee",
        utm_source="youtube",
        days=3,
    )
    loser = _with_history(
        org,
        email="ann@twofold.io",
        phone="+14155550100",
        first="Annie",
        last="Lee",
        utm_source="facebook",
        days=1,
    )
    return winner, loser


def test_merge_then_unmerge_restores_both_contacts_exactly(team_a, pair):
    winner, loser = pair
    before = (full_state(winner), full_state(loser))

    merge = contact_merge(org=team_a.org, winner=winner, loser=loser, actor=team_a.owner)
    merged = full_state(winner)
    assert set(before[1]["meetings"]) <= set(merged["meetings"])
    assert set(before[1]["payments"]) <= set(merged["payments"])
    assert ("email", "ann@twofold.io") in {(k, v) for k, v, *_ in merged["identifiers"]}
    assert merged["fields"]["original_source"] == "facebook"  # the loser's touch was earlier
    loser.refresh_from_db()
    assert loser.merged_into_id == winner.pk

    contact_unmerge(org=team_a.org, merge=merge, actor=team_a.owner)
    assert (full_state(winner), full_state(loser)) == before
    actions = list(AuditLog.objects.filter(org=team_a.org).values_list("action", flat=True))
    assert "contact.merge" in actions and "contact.unmerge" in actions


def test_rows_that_arrive_after_a_merge_stay_with_the_winner(team_a, pair):
    winner, loser = pair
    merge = contact_merge(org=team_a.org, winner=winner, loser=loser, actor=None)
    later = MeetingFactory(org=team_a.org, contact=winner)
    contact_unmerge(org=team_a.org, merge=merge, actor=None)
    later.refresh_from_db()
    assert later.contact_id == winner.pk


def test_a_merge_cannot_be_undone_twice_or_out_of_order(team_a, pair):
    winner, loser = pair
    third = contact_resolve(org=team_a.org, observation=person(email="zed@threefold.io")).contact
    first = contact_merge(org=team_a.org, winner=winner, loser=loser, actor=None)
    contact_merge(org=team_a.org, winner=winner, loser=third, actor=None)
    with pytest.raises(IdentityError, match="later merges"):
        contact_unmerge(org=team_a.org, merge=first, actor=None)
    latest = ContactMerge.objects.filter(loser=third).get()
    contact_unmerge(org=team_a.org, merge=latest, actor=None)
    contact_unmerge(org=team_a.org, merge=first, actor=None)
    with pytest.raises(IdentityError, match="already undone"):
        contact_unmerge(org=team_a.org, merge=first, actor=None)


def test_contacts_of_another_org_cannot_be_merged(team_a, team_b, pair):
    winner, _ = pair
    foreign = contact_resolve(org=team_b.org, observation=person(email="b@b-org.io")).contact
    with pytest.raises(IdentityError):
        contact_merge(org=team_a.org, winner=winner, loser=foreign, actor=None)


def test_accepting_a_candidate_merges_the_pair_and_rejecting_keeps_it_apart(team_a, pair):
    candidate = MergeCandidate.objects.get(org=team_a.org)
    merge_candidate_accept(candidate=candidate, actor=team_a.owner)
    candidate.refresh_from_db()
    assert candidate.status == "accepted"
    assert ContactMerge.objects.filter(org=team_a.org).count() == 1
    with pytest.raises(IdentityError):
        merge_candidate_reject(candidate=candidate, actor=team_a.owner)


def test_rejecting_a_candidate_records_who_decided(team_a, pair):
    candidate = MergeCandidate.objects.get(org=team_a.org)
    merge_candidate_reject(candidate=candidate, actor=team_a.admin)
    candidate.refresh_from_db()
    assert (candidate.status, candidate.decided_by) == ("rejected", team_a.admin)
    assert not ContactMerge.objects.exists()
