"""A person erased here (GDPR art. 17) whose provider still holds them: the nightly sync re-reads
their objects and the provider keeps sending updates about them. None of it may bring them back,
and what happened to their calls and money since still counts.

Real fixtures (one person across Calendly, Typeform and Stripe), through both ingestion paths:
the webhook inbox and a sync's ``ingest_records``.
"""

from __future__ import annotations

import json

import pytest

from apps.contacts.models import Contact, Identifier
from apps.contacts.privacy import ERASED_BODY, contact_erase
from apps.integrations import ingest
from apps.integrations.models import WebhookEvent
from apps.integrations.webhooks import webhook_event_process
from apps.meetings.models import Meeting
from apps.payments.models import Payment, Refund
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


def test_a_new_form_after_erasure_is_a_new_contact(team_a, gus):
    """Erasure forgets what was held; a person who applies again starts afresh."""
    org = team_a.org
    again = load_fixture("typeform/form_response")
    again["form_response"]["token"] = "tok-applied-again"

    webhook(org, "typeform", again)

    assert Contact.objects.for_org(org).count() == 2
    returning = Contact.objects.for_org(org).exclude(pk=gus.pk).get()
    assert returning.erased_at is None
    assert returning.primary_email == "sample0.person@gmail.com"
    gus.refresh_from_db()
    assert gus.erased_at is not None and gus.last_name == ""
