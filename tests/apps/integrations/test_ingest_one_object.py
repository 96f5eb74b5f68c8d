"""One provider object, one contact (issue 27): every event about a payment or a booking lands on
the contact that object already has, even when the person gave nothing the resolver matches on
(a placeholder email such as test@test.com, or none at all).

Through the real webhook endpoints (signed bodies, the inbox, the task) and through sync pages
(``ingest_records``, serial and on page workers), with provider payloads shaped as the fixtures.
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
import responses

from apps.contacts.models import Contact, MergeCandidate
from apps.integrations import ingest
from apps.integrations.models import SyncRun
from apps.integrations.services import credential_set
from apps.integrations.sync import sync_run
from apps.meetings.models import Meeting
from apps.payments.models import Payment, Refund
from tests.apps.integrations.test_sync import FakeCalendly, api_invitee
from tests.apps.integrations.test_sync_providers import unpaced
from tests.apps.integrations.webhook_support import deliver, set_secrets
from tests.attribution.sources.conftest import load_fixture

pytestmark = pytest.mark.django_db

JUNK = "test@test.com"
STRIPE = "https://api.stripe.com/v1"


@pytest.fixture
def org(team_a):
    set_secrets(team_a.org)
    return team_a.org


@pytest.fixture
def send(client, org, django_capture_on_commit_callbacks):
    def _send(provider: str, payload: dict):
        with django_capture_on_commit_callbacks(execute=True):
            response = deliver(client, provider, org.slug, payload)
        assert response.status_code == 200, response.content
        return response

    return _send


def anonymous_stripe(name: str) -> dict:
    """A Stripe fixture whose buyer typed a placeholder email and no name."""
    envelope = load_fixture(f"stripe/{name}")
    obj = envelope["data"]["object"]
    if "receipt_email" in obj:
        obj["receipt_email"] = JUNK
    if "billing_details" in obj:
        obj["billing_details"].update(email=JUNK, name=None)
    return envelope


def junk_invitee(envelope: dict) -> dict:
    """A Calendly invitee who typed a placeholder email and gave no phone."""
    envelope = copy.deepcopy(envelope)
    envelope["payload"].update(email=JUNK, questions_and_answers=[])
    return envelope


def cancellation_of(created: dict) -> dict:
    """invitee.canceled for the invitee ``created`` booked."""
    envelope = load_fixture("calendly/invitee.canceled")
    booked = created["payload"]
    envelope["payload"].update(
        {k: booked[k] for k in ("uri", "email", "name", "first_name", "last_name")},
        questions_and_answers=booked["questions_and_answers"],
        scheduled_event=booked["scheduled_event"],
    )
    return envelope


def refunded_total(payment: Payment) -> Decimal:
    return sum((r.amount for r in payment.refunds.all()), Decimal("0"))


# --- (a) and (b): through the webhook endpoints -------------------------------------------------


def test_one_stripe_payment_by_an_anonymous_buyer_is_one_contact_and_one_payment(send, org):
    send("stripe", anonymous_stripe("payment_intent.succeeded"))
    send("stripe", anonymous_stripe("charge.succeeded"))
    send("stripe", anonymous_stripe("charge.refunded"))

    assert Contact.objects.for_org(org).count() == 1
    payment = Payment.objects.for_org(org).get()
    assert payment.contact == Contact.objects.for_org(org).get()
    assert payment.external_id == "pi_SA0000" and payment.charge_id == "ch_SA0000"
    assert payment.amount == Decimal("2500.00")
    assert refunded_total(payment) == Decimal("500.00")


def test_the_refund_event_too_joins_the_one_payment_and_counts_once(send, org):
    for name in ("charge.refunded", "payment_intent.succeeded", "refund.created"):
        send("stripe", anonymous_stripe(name))
    send("stripe", anonymous_stripe("charge.succeeded"))

    assert Contact.objects.for_org(org).count() == 1
    payment = Payment.objects.for_org(org).get()
    assert refunded_total(payment) == Decimal("500.00")
    assert Refund.objects.for_org(org).get().external_id == "re_SA0000"


def test_a_payment_whose_buyer_gave_no_email_at_all_then_a_placeholder_is_one_contact(send, org):
    intent = load_fixture("stripe/payment_intent.succeeded")
    intent["data"]["object"]["receipt_email"] = None
    send("stripe", intent)  # names nobody: no contact yet
    send("stripe", anonymous_stripe("charge.succeeded"))
    send("stripe", anonymous_stripe("charge.refunded"))

    contact = Contact.objects.for_org(org).get()
    assert Payment.objects.for_org(org).get().contact == contact


def test_one_calendly_booking_by_an_anonymous_invitee_is_one_contact(send, org):
    created = junk_invitee(load_fixture("calendly/invitee.created"))
    send("calendly", created)
    send("calendly", cancellation_of(created))

    contact = Contact.objects.for_org(org).get()
    meeting = Meeting.objects.for_org(org).get()
    assert meeting.contact == contact
    assert meeting.status == Meeting.Status.CANCELED


def test_two_anonymous_bookings_are_still_two_people(send, org):
    """Nothing matchable and two different objects: nothing says they are one person."""
    first = junk_invitee(load_fixture("calendly/invitee.created"))
    second = copy.deepcopy(first)
    second["payload"]["uri"] = first["payload"]["uri"].replace("IN", "INX")
    second["payload"]["scheduled_event"]["uri"] += "X"
    second["payload"]["name"] = second["payload"]["first_name"] = "Someone"
    second["payload"]["last_name"] = "Else"
    send("calendly", first)
    send("calendly", second)

    assert Contact.objects.for_org(org).count() == 2


# --- (c): through sync pages ---------------------------------------------------------------------


def test_a_sync_page_finds_the_payment_a_webhook_made_for_an_anonymous_buyer(send, org):
    credential_set(org=org, provider="stripe", name="api_key", value="sk_test_x", actor=None)
    send("stripe", anonymous_stripe("payment_intent.succeeded"))
    charge = anonymous_stripe("charge.refunded")["data"]["object"]
    refund = load_fixture("stripe/refund.created")["data"]["object"]

    with responses.RequestsMock() as rsps:
        rsps.get(f"{STRIPE}/charges", json={"data": [charge], "has_more": False})
        rsps.get(f"{STRIPE}/refunds", json={"data": [refund], "has_more": False})
        run = sync_run(org=org, provider="stripe", client_options=unpaced())

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    contact = Contact.objects.for_org(org).get()
    payment = Payment.objects.for_org(org).get()
    assert payment.contact == contact
    assert refunded_total(payment) == Decimal("500.00")


def test_a_calendly_sync_finds_the_booking_a_webhook_made_for_an_anonymous_invitee(send, org):
    credential_set(org=org, provider="calendly", name="api_token", value="cal_tok", actor=None)
    fake = FakeCalendly(1, canceled={0})
    invitee = fake.invitees[fake.events[0]["uri"]][0]
    invitee.update(email=JUNK)
    booked = api_invitee(0)
    booked.update(email=JUNK)
    created = load_fixture("calendly/invitee.created")
    created["payload"] = {**booked, "scheduled_event": fake.events[0]}
    created["payload"].pop("event")
    send("calendly", created)
    assert Contact.objects.for_org(org).count() == 1

    with responses.RequestsMock() as rsps:
        fake.install(rsps)
        run = sync_run(org=org, provider="calendly", client_options=unpaced())

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert Contact.objects.for_org(org).count() == 1
    assert Meeting.objects.for_org(org).get().status == Meeting.Status.CANCELED


def test_events_of_one_new_payment_on_one_page_make_one_contact(org):
    """A page resolves its people in one pass before any record is applied: the records of one
    object must still come out as one person."""
    records = [
        ingest.parse_payload(org=org, provider="stripe", envelope=anonymous_stripe(name))
        for name in ("payment_intent.succeeded", "charge.succeeded", "charge.refunded")
    ]
    outcomes = ingest.ingest_records(
        org=org, items=[(record, None) for record in records], via="sync"
    )

    assert not [o for o in outcomes if isinstance(o, Exception)]
    contact = Contact.objects.for_org(org).get()
    payment = Payment.objects.for_org(org).get()
    assert payment.contact == contact
    assert refunded_total(payment) == Decimal("500.00")


def test_a_booking_and_its_cancellation_on_one_page_make_one_contact(org):
    created = junk_invitee(load_fixture("calendly/invitee.created"))
    records = [
        ingest.parse_payload(org=org, provider="calendly", envelope=envelope)
        for envelope in (created, cancellation_of(created))
    ]
    ingest.ingest_records(org=org, items=[(record, None) for record in records], via="sync")

    contact = Contact.objects.for_org(org).get()
    assert Meeting.objects.for_org(org).get().contact == contact


def test_a_held_payment_whose_later_event_names_someone_known_queues_them_for_review(send, org):
    """The object keeps its contact; that the charge's email is another contact's is an
    admin's call (two existing contacts are never merged automatically)."""
    send("calendly", load_fixture("calendly/invitee.created"))  # Gus, by his own email
    gus = Contact.objects.for_org(org).get()
    send("stripe", anonymous_stripe("payment_intent.succeeded"))
    buyer = Contact.objects.for_org(org).exclude(pk=gus.pk).get()
    send("stripe", load_fixture("stripe/charge.succeeded"))  # billed to Gus's email

    assert Contact.objects.for_org(org).count() == 2
    assert Payment.objects.for_org(org).get().contact == buyer
    a, b = sorted((gus.pk, buyer.pk))
    candidate = MergeCandidate.objects.for_org(org).get(contact_a_id=a, contact_b_id=b)
    assert candidate.status == MergeCandidate.Status.PENDING
    assert "same email" in candidate.reasons


def test_both_halves_of_a_reschedule_by_an_anonymous_invitee_are_one_contact(send, org):
    """Calendly sends the new booking and the old one's cancellation, in either order: the
    same person rebooking."""
    send("calendly", junk_invitee(load_fixture("calendly/invitee.created-rescheduled")))
    send("calendly", junk_invitee(load_fixture("calendly/invitee.canceled-rescheduled")))

    contact = Contact.objects.for_org(org).get()
    assert set(Meeting.objects.for_org(org).values_list("contact", flat=True)) == {contact.pk}
