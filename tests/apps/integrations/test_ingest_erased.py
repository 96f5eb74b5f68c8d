"""A person erased here (GDPR art. 17) whose provider still holds them: the nightly sync re-reads
their objects and the provider keeps sending updates about them. None of it may bring them back,
and what happened to their calls and money since still counts.

Real fixtures (one person across Calendly, Typeform and Stripe), through both ingestion paths:
the webhook inbox and a sync's ``ingest_records``.
"""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.management import call_command
from django.db.models import Q
from django.test import override_settings
from django.urls import reverse

from apps.contacts.models import Contact, Identifier, SourceRecord, Suppression, Touchpoint
from apps.contacts.privacy import ERASED_BODY, contact_erase
from apps.contacts.services import contact_resolve
from apps.contacts.suppression import pseudonym, suppression_digest
from apps.integrations import ingest
from apps.integrations.models import WebhookEvent
from apps.integrations.webhooks import webhook_event_process
from apps.meetings.models import Meeting
from apps.orgs.models import AuditLog
from apps.payments.models import Payment, Refund
from tests.apps.contacts.helpers import person
from tests.apps.contacts.test_privacy import everything_of
from tests.apps.integrations.test_sync_providers import webhook
from tests.attribution.sources.conftest import load_fixture

pytestmark = pytest.mark.django_db

# Gus, as every fixture names him.
TRACES = ["sample0.person@gmail.com", "SAMPLE0.PERSON@GMAIL.COM", "Marsh0", "+14155551000"]


def cancellation_of(created: dict) -> dict:
    """invitee.canceled for the invitee ``created`` booked."""
    envelope = load_fixture("calendly/invitee.canceled")
    booked = created["payload"]
    envelope["payload"].update(
        {k: booked[k] for k in ("uri", "email", "name", "first_name", "last_name")},
        scheduled_event=booked["scheduled_event"],
    )
    return envelope


@pytest.fixture
def gus(team_a):
    """Gus booked a call, filled the form and paid; then asked to be forgotten."""
    org = team_a.org
    webhook(org, "calendly", load_fixture("calendly/invitee.created"))
    webhook(org, "typeform", load_fixture("typeform/form_response"))
    webhook(org, "stripe", load_fixture("stripe/charge.succeeded"))
    gus = Contact.objects.for_org(org).get()
    assert all(trace in everything_of(org) for trace in TRACES)
    contact_erase(org=org, contact=gus, actor=None)
    assert [trace for trace in TRACES if trace in everything_of(org)] == []
    return gus


def assert_still_forgotten(org, gus) -> None:
    assert [trace for trace in TRACES if trace in everything_of(org)] == []
    gus.refresh_from_db()
    assert gus.erased_at is not None and gus.display_name == f"Contact #{gus.pk}"
    assert not Identifier.objects.filter(contact__org=org).exists()


def test_webhooks_about_an_erased_persons_objects_apply_without_bringing_them_back(team_a, gus):
    org = team_a.org
    created = load_fixture("calendly/invitee.created")
    # The provider re-delivers what it sent before, and what happened since.
    webhook(org, "calendly", created)
    webhook(org, "typeform", load_fixture("typeform/form_response"))
    webhook(org, "stripe", load_fixture("stripe/charge.succeeded"))
    webhook(org, "stripe", load_fixture("stripe/charge.refunded"))
    inbox = WebhookEvent.objects.create(
        org=org,
        provider="calendly",
        event_id="evt_cancel",
        body=json.dumps(cancellation_of(created)).encode(),
    )
    webhook_event_process(event_pk=inbox.pk)

    assert Contact.objects.for_org(org).count() == 1
    assert_still_forgotten(org, gus)
    # Their call and their money still move the numbers, on the nameless contact.
    meeting = Meeting.objects.for_org(org).get()
    assert (meeting.contact, meeting.status, meeting.cancel_reason) == (gus, "canceled", "")
    payment = Payment.objects.for_org(org).get()
    assert payment.contact == gus
    assert Refund.objects.for_org(org).filter(payment=payment).exists()
    inbox.refresh_from_db()
    assert inbox.status == WebhookEvent.Status.PROCESSED
    assert bytes(inbox.body) == ERASED_BODY


def test_a_sync_rereading_an_erased_persons_objects_leaves_them_erased(team_a, gus):
    org = team_a.org
    form = load_fixture("typeform/form_response")
    # A new person on the same page comes in as ever.
    other = load_fixture("typeform/form_response")
    other["form_response"]["token"] = "tok-someone-else"
    ada = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada.lovelace@fastmail.com"}
    for answer in other["form_response"]["answers"]:
        answer[answer["type"]] = ada.get(answer["field"]["ref"], "+14155550199")
    records = [
        (ingest.parse_payload(org=org, provider="typeform", envelope=e), e["form_response"])
        for e in (form, other)
    ]
    records.append(
        (
            ingest.parse_payload(
                org=org, provider="calendly", envelope=load_fixture("calendly/invitee.created")
            ),
            None,
        )
    )

    outcomes = ingest.ingest_records(org=org, items=records, via="sync")

    assert outcomes[1] == ingest.Outcome.CREATED
    assert Contact.objects.for_org(org).count() == 2
    ada = Contact.objects.for_org(org).get(primary_email="ada.lovelace@fastmail.com")
    assert ada.erased_at is None
    Identifier.objects.filter(contact=ada).delete()  # Ada's are hers: not what is checked
    assert_still_forgotten(org, gus)


def deliver(org, provider: str, envelope: dict) -> WebhookEvent:
    """A delivery through the webhook inbox, processed as the worker does."""
    body = json.dumps(envelope).encode()
    inbox = WebhookEvent.objects.create(
        org=org, provider=provider, event_id=f"evt-{hash(body)}", body=body
    )
    webhook_event_process(event_pk=inbox.pk)
    inbox.refresh_from_db()
    return inbox


def new_form(token: str, *, email: str, phone: str) -> dict:
    """Gus's form again, as a new response with these email and phone answers."""
    envelope = load_fixture("typeform/form_response")
    envelope["event_id"] = f"EV{token}"
    envelope["form_response"]["token"] = token
    for answer in envelope["form_response"]["answers"]:
        if answer["type"] == "email":
            answer["email"] = email
        if answer["type"] == "phone_number":
            answer["phone_number"] = phone
    return envelope


def new_booking(invitee: str, *, email: str, phone: str) -> dict:
    envelope = load_fixture("calendly/invitee.created")
    booking = envelope["payload"]
    booking.update(uri=f"https://api.calendly.com/scheduled_events/SE00002/invitees/{invitee}")
    booking.update(email=email, first_name="G.", last_name="Marsh-Newman", name="G. Marsh-Newman")
    booking["questions_and_answers"][0]["answer"] = phone
    booking["scheduled_event"].update(
        uri="https://api.calendly.com/scheduled_events/SE00002",
        start_time="2026-04-07T16:00:00.000000Z",
        end_time="2026-04-07T16:45:00.000000Z",
    )
    return envelope


def test_a_new_form_with_an_erased_persons_email_stays_nameless_and_counts(team_a, gus):
    """The person applies again, as a new response: the same mailbox (dots and a +tag on
    gmail), another phone. Nothing of it is kept but what the numbers are made of."""
    org = team_a.org
    inbox = deliver(
        org,
        "typeform",
        new_form("tok-applied-again", email="Sample0.Person+apply@gmail.com", phone="415 555 0123"),
    )

    assert Contact.objects.for_org(org).count() == 1
    assert_still_forgotten(org, gus)
    text = everything_of(org)
    assert [t for t in ("Person+apply", "5550123", "tok-applied-again") if t in text] == []
    assert bytes(inbox.body) == ERASED_BODY and inbox.status == WebhookEvent.Status.PROCESSED
    response = SourceRecord.objects.for_org(org).get(external_id=pseudonym("tok-applied-again"))
    assert (response.contact, response.payload) == (gus, {})
    # The new application still counts: a form touch with its campaign, on the same person.
    assert list(
        Touchpoint.objects.for_org(org)
        .filter(contact=gus, source_record=response)
        .values_list("utm_source", "utm_campaign", "landing_url")
    ) == [("youtube", "vsl", "")]


def test_a_new_booking_by_an_erased_persons_phone_alone_stays_nameless(team_a, gus):
    """A new booking from a sync page, under a new email and name: the phone is Gus's."""
    org = team_a.org
    booking = new_booking("IN00002", email="g.newman@fastmail.com", phone="(415) 555-1000")
    record = ingest.parse_payload(org=org, provider="calendly", envelope=booking)

    [outcome] = ingest.ingest_records(org=org, items=[(record, booking["payload"])], via="sync")

    assert outcome == ingest.Outcome.CREATED
    assert Contact.objects.for_org(org).count() == 1
    assert_still_forgotten(org, gus)
    text = everything_of(org)
    assert [t for t in ("g.newman@fastmail.com", "Newman", "IN00002") if t in text] == []
    new = Meeting.objects.for_org(org).get(external_id=pseudonym(record.invitee_uri))
    assert (new.contact, new.questions, new.status) == (gus, [], "scheduled")
    assert Meeting.objects.for_org(org).filter(contact=gus).count() == 2


def test_a_replayed_webhook_for_an_erased_booking_updates_its_nameless_row(team_a, gus):
    org = team_a.org
    invitees = SourceRecord.objects.for_org(org).filter(provider="calendly")
    before = (Meeting.objects.for_org(org).get().pk, invitees.count())

    inbox = deliver(org, "calendly", load_fixture("calendly/invitee.created"))

    assert inbox.status == WebhookEvent.Status.PROCESSED and bytes(inbox.body) == ERASED_BODY
    assert (Meeting.objects.for_org(org).get().pk, invitees.count()) == before
    assert_still_forgotten(org, gus)


def test_erasure_keeps_provider_ids_only_as_keyed_hashes(team_a, gus):
    org = team_a.org
    invitee = load_fixture("calendly/invitee.created")["payload"]["uri"]
    token = load_fixture("typeform/form_response")["form_response"]["token"]
    meeting = Meeting.objects.for_org(org).get()
    assert meeting.external_id == pseudonym(invitee) == "hmac:" + suppression_digest(invitee)
    assert set(SourceRecord.objects.for_org(org).values_list("object_type", "external_id")) == {
        ("invitee.created", pseudonym(invitee)),
        ("form_response", pseudonym(token)),
    }
    text = everything_of(org)
    assert invitee not in text and token not in text
    assert "scheduled_events/SE00001" not in text  # the booking, whose URI starts the invitee's
    # The books keep the payment's own id.
    charge = load_fixture("stripe/charge.succeeded")["data"]["object"]
    assert (
        Payment.objects.for_org(org)
        .filter(Q(external_id=charge["payment_intent"]) | Q(external_id=charge["id"]))
        .exists()
    )
    # The identifiers are kept only as keyed hashes, for the person's contact.
    suppressed = set(Suppression.objects.for_org(org).values_list("kind", "digest", "contact"))
    assert {
        ("email", suppression_digest("sample0.person@gmail.com"), gus.pk),
        ("email", suppression_digest("sample0person@gmail.com"), gus.pk),
        ("phone", suppression_digest("+14155551000"), gus.pk),
    } <= suppressed


def test_a_suppression_outlives_the_deletion_of_the_erased_contact(team_a, gus):
    org = team_a.org
    gus.delete()

    webhook(org, "typeform", new_form("tok-after-delete", email=TRACES[0], phone=TRACES[3]))

    again = Contact.objects.for_org(org).get()
    assert again.erased_at is not None and again.primary_email == ""
    assert_still_forgotten(org, again)
    assert set(Suppression.objects.for_org(org).values_list("contact", flat=True)) == {again.pk}


@override_settings(SUPPRESSION_HMAC_KEY="another key")
def test_the_hashes_are_keyed(team_a):
    assert (
        suppression_digest("sample0.person@gmail.com")
        != hashlib.sha256(b"sample0.person@gmail.com").hexdigest()
    )
    with override_settings(SUPPRESSION_HMAC_KEY="yet another key"):
        other = suppression_digest("sample0.person@gmail.com")
    assert suppression_digest("sample0.person@gmail.com") != other


def test_another_orgs_erasure_suppresses_nothing_here(team_a, team_b):
    """Org B forgets Gus; org A, where he is a lead as ever, keeps his name."""
    for org in (team_a.org, team_b.org):
        webhook(org, "typeform", load_fixture("typeform/form_response"))
    contact_erase(
        org=team_b.org, contact=Contact.objects.for_org(team_b.org).get(), actor=team_b.owner
    )
    # Org A forgets someone else, so it does look its suppressions up.
    other = new_form("tok-someone-else", email="ada.lovelace@fastmail.com", phone="+14155550199")
    webhook(team_a.org, "typeform", other)
    ada = Contact.objects.for_org(team_a.org).get(primary_email="ada.lovelace@fastmail.com")
    contact_erase(org=team_a.org, contact=ada, actor=team_a.owner)

    webhook(team_a.org, "typeform", new_form("tok-in-org-a", email=TRACES[0], phone=TRACES[3]))
    webhook(team_a.org, "calendly", load_fixture("calendly/invitee.created"))

    gus_in_a = Contact.objects.for_org(team_a.org).exclude(pk=ada.pk).get()
    assert (gus_in_a.erased_at, gus_in_a.primary_email) == (None, "sample0.person@gmail.com")
    assert gus_in_a.identifiers.filter(value="+14155551000").exists()
    meeting = Meeting.objects.for_org(team_a.org).get()
    assert meeting.contact == gus_in_a and meeting.external_id.startswith("https://")
    assert SourceRecord.objects.for_org(team_a.org).filter(external_id="tok-in-org-a").exists()


def suppressions_page(client, user, **params):
    client.force_login(user)
    url = reverse("admin:contacts_suppression_changelist")
    return client.post(url, params) if "action" in params else client.get(url, params)


def test_an_admin_lifts_the_suppression_and_the_next_form_keeps_the_person(client, team_a, gus):
    """Gus comes back and consents: the admin finds him by the email he gives, and lifts."""
    org = team_a.org
    found = suppressions_page(client, team_a.owner, q="Sample0.Person@gmail.com")
    email_rows = [row.pk for row in found.context["cl"].result_list]
    assert len(email_rows) == 2  # as typed and as a mailbox; his phone is not shown

    done = suppressions_page(
        client, team_a.owner, action="lift_selected", _selected_action=email_rows[:1]
    )

    assert done.status_code == 302
    # The whole person is lifted, phone included, and the audit names counts only.
    assert not Suppression.objects.for_org(org).filter(lifted_at__isnull=True).exists()
    entry = AuditLog.objects.get(org=org, action="suppression.lift")
    lifted = Suppression.objects.for_org(org).filter(lifted_by=team_a.owner).count()
    assert entry.actor == team_a.owner and entry.data == {"suppressions": lifted, "people": 1}
    webhook(org, "typeform", new_form("tok-consented", email=TRACES[0], phone=TRACES[3]))
    back = Contact.objects.for_org(org).exclude(pk=gus.pk).get()
    assert (back.erased_at, back.primary_email, back.primary_phone) == (None, TRACES[0], TRACES[3])
    assert SourceRecord.objects.for_org(org).get(external_id="tok-consented").payload
    gus.refresh_from_db()
    assert gus.erased_at is not None and gus.primary_email == ""
    # Asked to be forgotten once more: suppressed again, the lifted rows kept as history.
    counts = contact_erase(org=org, contact=back, actor=team_a.owner)
    again = Suppression.objects.for_org(org).filter(lifted_at__isnull=True)
    assert counts["suppressions"] == again.count() == again.filter(contact=back).count()
    assert again.filter(digest=suppression_digest(TRACES[0])).exists()


@pytest.mark.parametrize("who", ["outsider", "manager"])
def test_only_the_orgs_owners_and_admins_lift(client, team_a, team_b, gus, who):
    user = team_b.owner if who == "outsider" else team_a.manager
    rows = list(Suppression.objects.for_org(team_a.org).values_list("pk", flat=True))

    suppressions_page(client, user, action="lift_selected", _selected_action=rows)

    assert Suppression.objects.for_org(team_a.org).filter(lifted_at__isnull=True).count() == len(
        rows
    )
    assert not AuditLog.objects.filter(action="suppression.lift").exists()


def test_people_erased_before_suppression_get_their_provider_ids_hashed(team_a, gus):
    org = team_a.org
    invitee = load_fixture("calendly/invitee.created")["payload"]["uri"]
    # As an erasure of the previous release left them: the ids in clear.
    Meeting.objects.for_org(org).update(
        external_id=invitee, event_uri="https://api.calendly.com/scheduled_events/SE00001"
    )
    SourceRecord.objects.for_org(org).filter(provider="calendly").update(external_id=invitee)

    call_command("erasures_rescrub", "--org", org.slug, stdout=io.StringIO())

    assert "SE00001" not in everything_of(org)
    assert Meeting.objects.for_org(org).get().external_id == pseudonym(invitee)
    webhook(org, "calendly", load_fixture("calendly/invitee.created"))
    assert Meeting.objects.for_org(org).count() == 1


def test_erasing_someone_suppressed_already_counts_only_what_is_new(team_a, gus):
    org = team_a.org
    # Typed in by hand since, under Gus's email and a new phone.
    again = contact_resolve(
        org=org, observation=person(email=TRACES[0], phone="+14155550123", first="Gus")
    ).contact

    counts = contact_erase(org=org, contact=again, actor=None)

    assert counts["suppressions"] == 1
    assert (
        Suppression.objects.for_org(org).get(digest=suppression_digest("+14155550123")).contact
        == again
    )
    assert Suppression.objects.for_org(org).get(digest=suppression_digest(TRACES[0])).contact == gus
