"""contact_resolve: one contact per person, by the rules of DESIGN.md, against PostgreSQL."""

import pytest

from apps.contacts.models import BlockedIdentifier, Contact, Identifier, MergeCandidate
from apps.contacts.services import contact_resolve, contact_resolve_many
from tests.apps.contacts.helpers import person

pytestmark = pytest.mark.django_db


def live_contacts(org):
    return Contact.objects.for_org(org).filter(merged_into__isnull=True)


def test_a_new_person_becomes_a_contact_with_every_identifier(team_a):
    result = contact_resolve(
        org=team_a.org,
        observation=person(
            email=" Jane.Doe+ads@Gmail.com ",
            phone="(415) 555-0132 ext. 9",
            first="Jane",
            last="Doe",
            utm_source="facebook",
            utm_campaign="spring",
        ),
    )
    assert result.created and result.decision == "new"
    contact = result.contact
    values = set(contact.identifiers.values_list("kind", "value"))
    assert ("email", "jane.doe+ads@gmail.com") in values
    assert ("email_canonical", "janedoe@gmail.com") in values
    assert ("phone", "+14155550132") in values
    assert (contact.first_name, contact.last_name) == ("Jane", "Doe")
    assert (contact.original_source, contact.original_campaign) == ("facebook", "spring")
    assert contact.first_seen_at is not None


def test_the_same_email_typed_differently_is_the_same_contact(team_a):
    first = contact_resolve(org=team_a.org, observation=person(email="Sam@Brightside.co"))
    again = contact_resolve(
        org=team_a.org, observation=person("calendly", email="  sam@brightside.CO ", days=2)
    )
    assert again.contact.pk == first.contact.pk and again.decision == "matched"
    assert "same email" in " ".join(again.reasons)
    assert live_contacts(team_a.org).count() == 1


def test_a_phone_in_another_format_finds_the_contact(team_a):
    first = contact_resolve(
        org=team_a.org, observation=person(email="pat.kim@brightside.co", phone="+1 415 555 0177")
    )
    again = contact_resolve(org=team_a.org, observation=person("close", phone="415.555.0177"))
    assert again.contact.pk == first.contact.pk


def test_a_provider_id_finds_the_contact(team_a):
    first = contact_resolve(
        org=team_a.org,
        observation=person("close", email="leo.park@brightside.co", ids=[("close_lead", "lead_1")]),
    )
    again = contact_resolve(
        org=team_a.org, observation=person("close", first="Lee", ids=[("close_lead", "lead_1")])
    )
    assert again.contact.pk == first.contact.pk


def test_it_never_merges_two_different_emails_automatically(team_a):
    one = contact_resolve(
        org=team_a.org,
        observation=person(
            email="ann.lee@onefold.io", phone="+14155550100", first="Ann", last="Lee"
        ),
    )
    two = contact_resolve(
        org=team_a.org,
        observation=person(email="ann@twofold.io", phone="+14155550100", first="Ann", last="Lee"),
    )
    assert two.contact.pk != one.contact.pk
    candidate = MergeCandidate.objects.get(org=team_a.org)
    assert {candidate.contact_a_id, candidate.contact_b_id} == {one.contact.pk, two.contact.pk}
    assert candidate.reasons
    # Both keep the phone, marked as shared.
    rows = Identifier.objects.filter(org=team_a.org, kind="phone", value="+14155550100")
    assert rows.count() == 2 and all(r.shared for r in rows)


def test_a_value_shared_by_more_people_than_the_limit_stops_matching(team_a):
    office = "+442079460000"
    people = [
        contact_resolve(
            org=team_a.org,
            observation=person(
                email=f"p{i}@corp.io", phone=office, first=f"Name{i}", last=f"Other{i}"
            ),
        )
        for i in range(5)
    ]
    assert len({p.contact.pk for p in people}) == 5
    # A sixth record with only the office line matches nobody.
    lone = contact_resolve(org=team_a.org, observation=person("close", phone=office))
    assert lone.created
    assert lone.review_with == ()


def test_a_namesake_with_nothing_else_in_common_stays_separate(team_a):
    one = contact_resolve(
        org=team_a.org, observation=person(email="john.smith@a.io", first="John", last="Smith")
    )
    two = contact_resolve(
        org=team_a.org,
        observation=person("close", first="John", last="Smith", phone="+13125550199", days=40),
    )
    assert two.contact.pk != one.contact.pk


def test_an_org_blocked_value_is_never_evidence(team_a):
    BlockedIdentifier.objects.create(org=team_a.org, kind="phone", value="+14155550111")
    one = contact_resolve(
        org=team_a.org, observation=person(email="xavi.ros@brightside.co", phone="+14155550111")
    )
    two = contact_resolve(org=team_a.org, observation=person(phone="(415) 555-0111"))
    assert two.contact.pk != one.contact.pk


def test_orgs_never_share_contacts(team_a, team_b):
    a = contact_resolve(org=team_a.org, observation=person(email="sara.mendes@brightside.co"))
    b = contact_resolve(org=team_b.org, observation=person(email="sara.mendes@brightside.co"))
    assert a.contact.pk != b.contact.pk
    assert b.contact.org == team_b.org


def test_close_wins_names_and_the_earliest_touch_wins_utms(team_a):
    contact_resolve(
        org=team_a.org,
        observation=person(
            email="kathy.oneil@brightside.co",
            first="kathy",
            last="o",
            utm_source="youtube",
            utm_campaign="vsl",
            days=5,
        ),
    )
    contact_resolve(
        org=team_a.org,
        observation=person(
            "close", email="kathy.oneil@brightside.co", first="Katherine", last="O'Neil", days=6
        ),
    )
    contact_resolve(
        org=team_a.org,
        observation=person(
            "calendly",
            email="kathy.oneil@brightside.co",
            first="Kat",
            last="O",
            utm_source="facebook",
            days=1,
        ),
    )
    contact = live_contacts(team_a.org).get()
    assert (contact.first_name, contact.last_name) == ("Katherine", "O'Neil")
    assert contact.original_source == "facebook"  # the touch on day 1 is the earliest
    assert contact.first_seen_at == person(days=1).observed_at


def test_a_batch_resolves_like_one_at_a_time(team_a):
    results = contact_resolve_many(
        org=team_a.org,
        observations=[
            person(email="mia.ray@brightside.co", first="Mia", last="Ray"),
            person("calendly", email="MIA.RAY@BRIGHTSIDE.CO", phone="+14155550142", days=1),
            person("close", phone="415-555-0142", ids=[("close_lead", "lead_9")], days=2),
            person(email="olga.petrova@brightside.co", first="Other", last="Person"),
        ],
    )
    assert len({r.contact.pk for r in results[:3]}) == 1
    assert results[3].contact.pk != results[0].contact.pk
    assert live_contacts(team_a.org).count() == 2


def test_an_invalid_phone_is_kept_as_typed_but_never_matches(team_a):
    one = contact_resolve(
        org=team_a.org, observation=person(email="ivy.chen@brightside.co", phone="12")
    )
    assert one.contact.identifiers.filter(kind="phone_raw", value="12").exists()
    two = contact_resolve(org=team_a.org, observation=person(phone="12"))
    assert two.contact.pk != one.contact.pk


def test_a_common_name_reads_only_the_newest_namesakes(team_a):
    """However many namesakes an org has, a resolve looks at a bounded number of them (the
    newest), so resolving stays as fast in a big org as in a small one."""
    from apps.contacts.resolution.candidates import name_candidates as _name_candidates
    from apps.contacts.resolution.records import NAME_CANDIDATE_CAP
    from apps.contacts.resolution.records import person_record as _person_record
    from attribution.identity.match import record_keys

    org = team_a.org
    made = contact_resolve_many(
        org=org,
        observations=[
            person(email=f"john.smith{i}@gmail.com", first="John", last="Smith", days=i)
            for i in range(NAME_CANDIDATE_CAP + 15)
        ],
    )
    ids = sorted(r.contact.pk for r in made)
    assert len(set(ids)) == NAME_CANDIDATE_CAP + 15  # different emails: never merged
    newcomer = contact_resolve(org=org, observation=person(first="John", last="Smith", days=90))
    assert newcomer.contact.pk not in ids

    keys = record_keys(_person_record("x", person(first="John", last="Smith"), "US"))
    index, faces = _name_candidates(org, [keys], frozenset())
    assert index and all(len(found) <= NAME_CANDIDATE_CAP for found in index.values())
    for found in index.values():
        assert set(found) <= set(ids) | {newcomer.contact.pk}
        assert found == sorted(found, reverse=True)  # the newest first
    assert {(f.first_name, f.last_name) for f in faces.values()} == {("John", "Smith")}


def _namesake_pair(org):
    """An existing John Smith, and a record that matches him by name and work domain only (a
    campaign and a date alone would only make it a review)."""
    existing = contact_resolve(
        org=org, observation=person(email="john.smith@globex.com", first="John", last="Smith")
    ).contact
    record = person(
        "close", email="sales@globex.com", phone="+13125550199", first="John", last="Smith"
    )
    return existing, record


def test_a_namesake_that_matches_is_locked_and_extended(team_a):
    existing, record = _namesake_pair(team_a.org)
    result = contact_resolve(org=team_a.org, observation=record)
    assert result.contact.pk == existing.pk and result.decision == "matched"
    assert existing.identifiers.filter(kind="phone", value="+13125550199").exists()


def test_a_namesake_merged_away_before_it_is_locked_is_not_matched(team_a, monkeypatch):
    """Namesakes are read without a lock; one merged by someone else in the meantime is
    never extended (its row is re-read under the lock when it matches)."""
    from apps.contacts.resolution import candidates

    existing, record = _namesake_pair(team_a.org)
    winner = contact_resolve(
        org=team_a.org, observation=person(email="someone.else@gmail.com", first="Ann", last="Lee")
    ).contact
    load = candidates.load_slots

    def load_then_merge_elsewhere(*args):
        slots = load(*args)
        Contact.objects.filter(pk=existing.pk).update(merged_into=winner)
        return slots

    monkeypatch.setattr(candidates, "load_slots", load_then_merge_elsewhere)
    result = contact_resolve(org=team_a.org, observation=record)
    assert result.contact.pk not in (existing.pk, winner.pk)
    assert result.created
    assert not existing.identifiers.filter(kind="phone", value="+13125550199").exists()


def _spy_on_namesakes(monkeypatch):
    from apps.contacts.resolution import candidates

    seen = {}
    load = candidates.load_slots

    def spy(org, owner_ids, faces, weighed):
        seen.update(namesakes=set(faces) - owner_ids, weighed=set(weighed))
        return load(org, owner_ids, faces, weighed)

    monkeypatch.setattr(candidates, "load_slots", spy)
    return seen


def test_a_namesake_sharing_only_the_work_domain_is_weighed_with_its_emails(team_a, monkeypatch):
    """Whether a namesake at the record's work domain corroborates can't be told from its name:
    its emails are read, and the different address sends the pair to review."""
    existing = contact_resolve(
        org=team_a.org,
        observation=person(email="jane.doe@acme.io", first="Jane", last="Doe"),
    ).contact
    seen = _spy_on_namesakes(monkeypatch)
    result = contact_resolve(
        org=team_a.org,
        observation=person("close", email="jdoe@acme.io", first="Jane", last="Doe", days=40),
    )
    assert seen["weighed"] == {existing.pk}
    assert result.created and result.review_with == (existing.pk,)
    pair = MergeCandidate.objects.for_org(team_a.org).get()
    assert "same email domain acme.io" in " ".join(pair.reasons)


def test_a_namesake_no_record_could_match_is_weighed_without_its_identifiers(team_a, monkeypatch):
    """A backfill meets dozens of namesakes per record; one with nothing corroborating its
    name is ruled out from its name, date and campaign, and its identifiers are never read."""
    existing = contact_resolve(
        org=team_a.org,
        observation=person(
            email="john.smith@gmail.com", first="John", last="Smith", utm_campaign="spring"
        ),
    ).contact
    seen = _spy_on_namesakes(monkeypatch)
    result = contact_resolve(
        org=team_a.org,
        observation=person(
            email="jsmith77@gmail.com", first="John", last="Smith", utm_campaign="fall", days=40
        ),
    )
    assert seen == {"namesakes": {existing.pk}, "weighed": set()}
    assert result.created and result.review_with == ()


def test_a_batch_larger_than_a_chunk_resolves_like_one_at_a_time(team_a, team_b, monkeypatch):
    """Big batches are resolved a chunk at a time (memory stays bounded); a later chunk finds
    the people an earlier one created, exactly as single resolves would."""
    from apps.contacts import services

    observations = [
        person(email="mia.ray@brightside.co", first="Mia", last="Ray"),
        person(email="leo.park@brightside.co", phone="+14155550143"),
        person("calendly", email="MIA.RAY@BRIGHTSIDE.CO", phone="+14155550142", days=1),
        person(email="olga.petrova@brightside.co", first="Olga", last="Petrova", days=1),
        person("close", phone="415-555-0142", ids=[("close_lead", "lead_9")], days=2),
        person("close", phone="(415) 555-0143", days=2),
        person("close", ids=[("close_lead", "lead_9")], first="Mia", last="Ray", days=3),
    ]
    monkeypatch.setattr(services, "RESOLVE_CHUNK", 2)
    chunked = [
        r.contact.pk for r in contact_resolve_many(org=team_a.org, observations=observations)
    ]
    single = [contact_resolve(org=team_b.org, observation=o).contact.pk for o in observations]

    def partition(pks):
        return sorted(sorted(i for i, pk in enumerate(pks) if pk == p) for p in set(pks))

    assert partition(chunked) == partition(single) == [[0, 2, 4, 6], [1, 5], [3]]
    assert live_contacts(team_a.org).count() == 3
