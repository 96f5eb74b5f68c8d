"""A person's data on request: exported whole, or erased everywhere without moving a KPI."""

from decimal import Decimal

import pytest
from django.apps import apps
from django.core import serializers
from django.urls import reverse

from apps.contacts.models import Contact, ContactMerge, MergeCandidate
from apps.contacts.privacy import ERASED_BODY, contact_erase, contact_export
from apps.contacts.services import (
    IdentityError,
    contact_merge,
    contact_resolve,
    contact_unmerge,
    source_record_upsert,
)
from apps.integrations.models import WebhookEvent
from apps.kpis.models import DailyRollup
from apps.kpis.services import rollup_rebuild
from apps.orgs.models import AuditLog
from tests.apps.contacts.helpers import person
from tests.factories import (
    CallActivityFactory,
    MeetingFactory,
    PaymentFactory,
    PostCallFormFactory,
    TouchpointFactory,
)

pytestmark = pytest.mark.django_db

EMAIL, OTHER_EMAIL, PHONE = "erin.cole@brightside.co", "erin.c@gmail.com", "+14155550177"
# What identifies Erin anywhere: her emails, phone as typed, surname, and provider ids. Her
# payment keeps its provider id: the books must (GDPR art. 17(3)(b)), and it names nobody here.
TRACES = [EMAIL, OTHER_EMAIL, "415-555-0177", "+14155550177", "Cole", "lead_erin01"]


@pytest.fixture
def erin(team_a):
    """Erin as she reaches an org: a form, a CRM lead merged in, a call, a payment, webhooks."""
    org = team_a.org
    erin = contact_resolve(
        org=org,
        observation=person(
            email=EMAIL, phone="415-555-0177", first="Erin", last="Cole", utm_source="facebook"
        ),
    ).contact
    twin = contact_resolve(
        org=org,
        observation=person(
            "close",
            email=OTHER_EMAIL,
            first="Erin",
            last="Cole",
            ids=[("close_lead", "lead_erin01")],
        ),
    ).contact
    contact_merge(org=org, winner=erin, loser=twin, actor=None, reason="Erin Cole twice")
    source_record_upsert(
        org=org,
        provider="typeform",
        object_type="form_response",
        external_id="resp_erin01",
        payload={"answers": [{"email": EMAIL}, {"text": "Erin Cole"}]},
        contact=erin,
    )
    TouchpointFactory(contact=erin, landing_url=f"https://brightside.co/apply?email={EMAIL}")
    meeting = MeetingFactory(
        org=org,
        contact=erin,
        questions=[{"question": "Phone", "answer": "415-555-0177"}],
        cancel_reason="Erin Cole had a conflict",
    )
    PostCallFormFactory(meeting=meeting, notes="Erin Cole wants the coaching plan")
    CallActivityFactory(org=org, contact=erin, note="Left Erin Cole a voicemail")
    PaymentFactory(org=org, contact=erin, external_id="pi_erin01", description="Erin Cole, PIF")
    MergeCandidate.objects.create(
        org=org,
        contact_a=erin,
        contact_b=contact_resolve(org=org, observation=person(email="e.cole@acme.io")).contact,
        score=Decimal("0.5"),
        reasons=[f"but different emails {EMAIL} / e.cole@acme.io"],
    )
    for event_id, body, status in [
        ("evt_1", f'{{"email": "{EMAIL}", "name": "Erin Cole"}}', "processed"),
        ("evt_2", '{"payment": {"id": "pi_erin01"}}', "pending"),
        ("evt_3", '{"email": "someone.else@brightside.co"}', "processed"),
    ]:
        WebhookEvent.objects.create(
            org=org, provider="stripe", event_id=event_id, body=body.encode(), status=status
        )
    return erin


def everything_of(org) -> str:
    """Every row the org owns, as text: what a data-protection audit of the database would read."""
    chunks = []
    for model in apps.get_models():
        if not any(f.name == "org" for f in model._meta.fields):
            continue
        rows = model._default_manager.filter(org=org)
        chunks.append(serializers.serialize("json", rows))
        if model is WebhookEvent:
            chunks += [bytes(body).decode() for body in rows.values_list("body", flat=True)]
    return "\n".join(chunks)


def test_erasure_leaves_no_trace_of_the_person_and_moves_no_kpi(team_a, team_b, erin):
    other_org_person = contact_resolve(
        org=team_b.org, observation=person(email=EMAIL, first="Erin", last="Cole")
    ).contact
    before = kpis(team_a.org)
    assert before  # the lead, the call and the cash are counted
    assert all(trace in everything_of(team_a.org) for trace in TRACES)

    contact_erase(org=team_a.org, contact=erin, actor=team_a.owner)

    text = everything_of(team_a.org)
    assert [trace for trace in TRACES if trace in text] == []
    erin.refresh_from_db()
    assert erin.erased_at is not None and erin.display_name == f"Contact #{erin.pk}"
    assert (erin.original_source, erin.meetings.count(), erin.payments.count()) == (
        "facebook",
        1,
        1,
    )
    assert kpis(team_a.org) == before
    unrelated = WebhookEvent.objects.get(event_id="evt_3")
    assert bytes(unrelated.body) != ERASED_BODY and unrelated.status == "processed"
    pending = WebhookEvent.objects.get(event_id="evt_2")
    assert pending.status == "failed" and "erased" in pending.error
    # Another org's Erin is another org's business.
    other_org_person.refresh_from_db()
    assert other_org_person.erased_at is None and other_org_person.last_name == "Cole"
    assert EMAIL in everything_of(team_b.org)


def kpis(org) -> set[tuple]:
    """Every daily figure of the org, recomputed from its rows."""
    rollup_rebuild(org=org)
    return set(DailyRollup.objects.for_org(org).values_list(*_ROLLUP))


_ROLLUP = (
    *("date", "kind", "grain", "source", "campaign", "closer_id", "setter_id", "leads"),
    *("triage_booked", "solution_booked", "solution_attended", "deals_won", "revenue"),
    *("cash_collected", "refunds"),
)


def test_erasure_is_audited_with_counts_never_values(team_a, erin):
    counts = contact_erase(org=team_a.org, contact=erin, actor=team_a.owner)
    assert counts["contacts"] == 2 and counts["webhook_events"] == 2
    entry = AuditLog.objects.get(org=team_a.org, action="contact.erase")
    assert entry.actor == team_a.owner and entry.data == counts


def test_an_erased_persons_merge_cannot_be_undone(team_a, erin):
    contact_erase(org=team_a.org, contact=erin, actor=None)
    merge = ContactMerge.objects.get(org=team_a.org)
    with pytest.raises(IdentityError, match="erased"):
        contact_unmerge(org=team_a.org, merge=merge, actor=None)


def test_erasing_a_merged_away_contact_erases_the_whole_person(team_a, erin):
    twin = Contact.objects.get(org=team_a.org, merged_into=erin)
    contact_erase(org=team_a.org, contact=twin, actor=None)
    erin.refresh_from_db()
    assert erin.erased_at is not None and not erin.identifiers.exists()


def test_the_export_holds_everything_on_the_person(team_a, erin):
    data = contact_export(org=team_a.org, contact=erin, actor=team_a.owner)
    assert {c["last_name"] for c in data["contacts"]} == {"Cole"} and len(data["contacts"]) == 2
    values = {i["value"] for i in data["identifiers"]}
    assert {EMAIL, OTHER_EMAIL, PHONE, "lead_erin01"} <= values
    assert data["source_records"][0]["payload"]["answers"][0]["email"] == EMAIL
    assert data["post_call_forms"][0]["notes"] == "Erin Cole wants the coaching plan"
    assert [(p["external_id"], p["amount"]) for p in data["payments"]] == [("pi_erin01", "500.00")]
    assert data["meetings"] and data["call_activities"] and data["touchpoints"]
    assert AuditLog.objects.filter(org=team_a.org, action="contact.export").exists()


def changelist(client, user, **post):
    client.force_login(user)
    return client.post(reverse("admin:contacts_contact_changelist"), post)


def test_an_admin_erases_after_confirming(client, team_a, erin):
    picked = {"action": "erase_selected", "_selected_action": [erin.pk]}
    page = changelist(client, team_a.owner, **picked)
    assert page.status_code == 200 and "cannot be undone" in page.content.decode()
    erin.refresh_from_db()
    assert erin.erased_at is None  # asking is not erasing
    done = changelist(client, team_a.owner, **picked, confirm="yes")
    assert done.status_code == 302
    erin.refresh_from_db()
    assert erin.erased_at is not None


def test_an_admin_downloads_the_export(client, team_a, erin):
    response = changelist(
        client, team_a.owner, action="export_selected", _selected_action=[erin.pk]
    )
    assert response["Content-Disposition"] == 'attachment; filename="personal-data-export.json"'
    [export] = response.json()
    assert EMAIL in {i["value"] for i in export["identifiers"]}


@pytest.mark.parametrize("action", ["erase_selected", "export_selected"])
def test_another_orgs_admin_can_neither_erase_nor_export(client, team_a, team_b, erin, action):
    response = changelist(
        client, team_b.owner, action=action, _selected_action=[erin.pk], confirm="yes"
    )
    assert EMAIL.encode() not in response.content
    erin.refresh_from_db()
    assert erin.erased_at is None and erin.last_name == "Cole"
    assert not AuditLog.objects.filter(action__startswith="contact.e").exists()


@pytest.mark.parametrize("role", ["manager", "closer", "viewer"])
def test_only_owners_and_admins_reach_the_actions(client, team_a, erin, role):
    response = changelist(
        client, getattr(team_a, role), action="erase_selected", _selected_action=[erin.pk],
        confirm="yes",
    )  # fmt: skip
    assert response.status_code in (302, 403)
    assert EMAIL.encode() not in response.content
    erin.refresh_from_db()
    assert erin.erased_at is None
