"""Close, Stripe and Whop deliveries end to end, and every listed event type processed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.contacts.models import Contact, Identifier
from apps.deals.models import CallActivity, Deal
from apps.integrations.models import WebhookEvent
from apps.meetings.models import Meeting
from apps.payments.models import Payment, Refund
from tests.apps.integrations.webhook_support import SAMPLES, deliver, set_secrets
from tests.attribution.sources.conftest import load_fixture
from tests.factories import ContactFactory, MeetingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(team_a):
    set_secrets(team_a.org)
    return team_a.org


@pytest.fixture
def send(client, org, django_capture_on_commit_callbacks):
    def _send(provider: str, payload: dict, **kw):
        with django_capture_on_commit_callbacks(execute=True):
            response = deliver(client, provider, org.slug, payload, **kw)
        assert response.status_code == 200, response.content
        return response

    return _send


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.id)
def test_every_event_type_is_processed_once_without_error(send, org, sample):
    """Acceptance 1: each provider's events, signed their way, processed (and once only)."""
    send(sample.provider, sample.build())
    event = WebhookEvent.objects.get(org=org)
    assert event.status == WebhookEvent.Status.PROCESSED, event.error
    assert event.attempts == 1


# --- Close ------------------------------------------------------------------------------------


def test_a_close_contact_is_resolved_with_its_ids_emails_and_phones(send, org):
    send("close", load_fixture("close/contact.created"))
    contact = Contact.objects.for_org(org).get()
    kinds = set(Identifier.objects.filter(contact=contact).values_list("kind", "value"))
    assert ("close_lead", "lead_SA0000") in kinds
    assert ("close_contact", "cont_SA0000") in kinds
    assert ("email", "sample0.person@gmail.com") in kinds
    assert ("phone", "+14155551000") in kinds


def test_a_close_lead_and_a_calendly_booking_of_one_person_are_one_contact(send, org):
    send("calendly", load_fixture("calendly/invitee.created"))
    lead = next(s for s in SAMPLES if s.id == "close:lead.updated").build()
    send("close", lead)
    contact = Contact.objects.for_org(org).get()
    assert contact.lead_status == "Qualified"  # the CRM wins the lead status


def test_a_won_opportunity_becomes_one_won_deal_of_the_leads_contact(send, org):
    send("close", load_fixture("close/contact.created"))
    send("close", load_fixture("close/opportunity.updated"))
    replay = load_fixture("close/opportunity.updated")
    replay["event"]["id"] = "ev_o0000_again"  # the same state, delivered as a new event
    send("close", replay)
    deal = Deal.objects.for_org(org).get()
    assert deal.status == Deal.Status.WON
    assert deal.value == Decimal("5000.00")  # Close sends cents
    assert deal.contact == Contact.objects.for_org(org).get()


def test_a_no_show_call_sets_the_crm_outcome_of_the_meeting_it_reports(send, org):
    org.settings = {"close_no_show_rule": {"dispositions": ["no-answer"]}}
    org.save()
    contact = ContactFactory(org=org)
    Identifier.objects.create(org=org, contact=contact, kind="close_lead", value="lead_sample0004")
    meeting = MeetingFactory(
        org=org, contact=contact, scheduled_at="2026-03-09T15:00:00+00:00", status="scheduled"
    )
    send("close", load_fixture("close/activity.call.created"))
    activity = CallActivity.objects.for_org(org).get()
    assert activity.outcome == CallActivity.Outcome.NO_SHOW
    assert activity.meeting == meeting
    assert activity.contact == contact
    meeting.refresh_from_db()
    assert meeting.crm_outcome == "no_show"
    assert meeting.showed is False


def test_without_a_no_show_rule_a_call_outcome_is_unknown_and_the_meeting_untouched(send, org):
    contact = ContactFactory(org=org)
    Identifier.objects.create(org=org, contact=contact, kind="close_lead", value="lead_sample0004")
    meeting = MeetingFactory(org=org, contact=contact, scheduled_at="2026-03-09T15:00:00+00:00")
    send("close", load_fixture("close/activity.call.created"))
    assert CallActivity.objects.for_org(org).get().outcome == CallActivity.Outcome.UNKNOWN
    meeting.refresh_from_db()
    assert meeting.crm_outcome == ""


def test_a_close_lead_merge_merges_the_two_people(send, org):
    send("close", load_fixture("close/contact.created"))
    other = load_fixture("close/contact.created")
    other["event"].update(id="ev_c9999", lead_id="lead_SB0001")
    other["event"]["data"].update(
        id="cont_SB0001",
        lead_id="lead_SB0001",
        name="Gus M.",
        emails=[{"email": "gus.work@marshco.net", "type": "office"}],
        phones=[],
    )
    send("close", other)
    assert Contact.objects.for_org(org).filter(merged_into__isnull=True).count() == 2
    merge = next(s for s in SAMPLES if s.id == "close:lead.merged").build()
    send("close", merge)
    alive = Contact.objects.for_org(org).filter(merged_into__isnull=True)
    assert alive.count() == 1
    survivor = alive.get()
    assert Identifier.objects.filter(contact=survivor, value="lead_SB0001").exists()


# --- Stripe -----------------------------------------------------------------------------------


def test_the_events_of_one_stripe_purchase_make_one_payment(send, org):
    for name in ("payment_intent.succeeded", "charge.succeeded"):
        send("stripe", load_fixture(f"stripe/{name}"))
    checkout = next(s for s in SAMPLES if s.id == "stripe:checkout.session.completed").build()
    send("stripe", checkout)
    payment = Payment.objects.for_org(org).get()
    assert payment.amount == Decimal("2500.00")
    assert payment.currency.upper() == "USD"
    assert payment.contact.primary_email == "sample0.person@gmail.com"


def test_a_stripe_refund_before_its_payment_is_kept_and_attached(send, org):
    send("stripe", load_fixture("stripe/refund.created"))
    refund = Refund.objects.for_org(org).get()
    assert refund.payment is None
    send("stripe", load_fixture("stripe/charge.succeeded"))
    refund.refresh_from_db()
    assert refund.payment == Payment.objects.for_org(org).get()
    # charge.refunded reports the same refund again: still one refund of 500.
    send("stripe", load_fixture("stripe/charge.refunded"))
    assert Refund.objects.for_org(org).filter(amount__gt=0).count() == 1
    assert Refund.objects.for_org(org).filter(amount__gt=0).get().amount == Decimal("500.00")


# --- Whop -------------------------------------------------------------------------------------


def test_a_whop_payment_and_its_refund(send, org):
    send("whop", load_fixture("whop/refund.created"))
    send("whop", load_fixture("whop/payment.succeeded"))
    payment = Payment.objects.for_org(org).get()
    assert payment.amount == Decimal("1497.00")
    assert payment.contact.primary_email == "sample7.person@outlook.com"
    assert Refund.objects.for_org(org).get().payment == payment


def test_a_whop_membership_resolves_the_member(send, org):
    send("whop", load_fixture("whop/membership.activated"))
    assert Contact.objects.for_org(org).get().primary_email == "sample7.person@outlook.com"
    assert not Meeting.objects.for_org(org).exists()
