"""The erasure list replayed on a database that lacks part of it, as a restored dump does."""

import copy

import pytest

from apps.contacts.erasures import erasures_collect, erasures_reapply
from apps.contacts.models import Contact, Identifier, Suppression
from apps.contacts.privacy import contact_erase
from apps.contacts.services import contact_resolve
from apps.contacts.suppression import suppressions_lift
from apps.orgs.models import AuditLog
from tests.apps.contacts.helpers import person

pytestmark = pytest.mark.django_db


def _erased(org, email):
    contact = contact_resolve(org=org, observation=person(email=email, first="Ana")).contact
    contact_erase(org=org, contact=contact, actor=None)
    return contact


def test_a_lift_made_after_the_dump_is_made_again(team_a):
    org = team_a.org
    _erased(org, "ana.lima@brightside.co")
    rows = Suppression.objects.for_org(org)
    suppressions_lift(org=org, suppression_ids=rows.values_list("pk", flat=True), actor=None)
    listing = erasures_collect()
    rows.update(lifted_at=None)  # the dump was taken before the person consented

    counts = erasures_reapply(data=listing)

    assert counts["lifts"] == rows.count() > 0
    assert not rows.filter(lifted_at__isnull=True).exists()
    assert erasures_reapply(data=listing)["lifts"] == 0


def test_a_contact_that_reuses_an_erased_ones_id_is_left_alone(team_a):
    org = team_a.org
    erased = _erased(org, "ana.lima@brightside.co")
    listing = erasures_collect()
    # After a restore the id sequence is behind: a new contact may get an id erased later on.
    Contact.objects.filter(pk=erased.pk).delete()
    newcomer = contact_resolve(
        org=org, observation=person(email="bo.chen@northwind.com", first="Bo")
    ).contact
    listing = copy.deepcopy(listing)
    listing["orgs"][0]["erased_contacts"][0]["id"] = newcomer.pk

    counts = erasures_reapply(data=listing)

    assert counts["contacts"] == 0
    newcomer.refresh_from_db()
    assert newcomer.first_name == "Bo" and newcomer.erased_at is None
    assert Identifier.objects.filter(contact=newcomer).exists()


def test_suppressions_missing_from_the_database_come_back_with_their_dates(team_a, team_b):
    org = team_a.org
    erased = _erased(org, "ana.lima@brightside.co")
    expected = set(
        Suppression.objects.for_org(org).values_list("person", "kind", "digest", "created_at")
    )
    listing = erasures_collect()
    Suppression.objects.for_org(org).delete()
    Contact.objects.filter(pk=erased.pk).delete()
    # An org created after the dump is not in the restored database.
    listing["orgs"].append({**listing["orgs"][0], "org": team_b.org.pk + 1000, "slug": "gone"})

    counts = erasures_reapply(data=listing)

    assert counts["orgs_missing"] == 1
    restored = Suppression.objects.for_org(org)
    assert set(restored.values_list("person", "kind", "digest", "created_at")) == expected
    # Their contact is gone: ingestion gives a returning person a new nameless one.
    assert not restored.filter(contact__isnull=False).exists()
    entry = AuditLog.objects.get(org=org, action="erasures.reapply")
    assert entry.data == {"suppressions": len(expected), "lifts": 0, "contacts": 0}
