"""Acceptance 2: a payment's credit is the deal it pays for, else the contact's most recent
attended call before it; what matches nothing waits for an admin, whose choice then sticks."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.meetings.models import Meeting
from apps.orgs.models import AuditLog
from apps.payments.models import CreditBasis, Payment
from apps.payments.services import payment_assign, payment_upsert
from attribution.sources import whop
from tests.attribution.sources.conftest import load_fixture
from tests.factories import ContactFactory, DealFactory, MeetingFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db
PAID_AT = datetime(2026, 3, 14, 16, 2, 9, tzinfo=UTC)  # the Whop fixture's paid_at


def pay(org, contact, **changes):
    payload = load_fixture("whop/payment.succeeded")
    payload["data"].update(changes)
    return payment_upsert(
        org=org, observation=whop.parse_webhook(payload).payment, contact=contact
    )[0]


@pytest.fixture
def people(team_a):
    org = team_a.org
    return {
        name: TeamMemberFactory(org=org, name=name, is_closer=True, is_setter=True)
        for name in ("early", "latest", "noshow", "after", "canceled", "deal_closer", "deal_setter")
    }


def call(org, contact, member, days_before, **kwargs):
    return MeetingFactory(
        org=org,
        contact=contact,
        scheduled_at=PAID_AT - timedelta(days=days_before),
        closer=member,
        setter=member,
        **kwargs,
    )


def test_without_a_deal_the_most_recent_attended_call_before_the_payment_gets_it(team_a, people):
    org = team_a.org
    contact = ContactFactory(org=org)
    call(org, contact, people["early"], 10)
    latest = call(org, contact, people["latest"], 3)
    call(org, contact, people["noshow"], 2, showed=False, status=Meeting.Status.NO_SHOW)
    call(org, contact, people["canceled"], 1, status=Meeting.Status.CANCELED)
    call(org, contact, people["after"], -1)  # after the payment: not what it paid for
    call(org, ContactFactory(org=org), people["after"], 0)  # another contact's call
    payment = pay(org, contact)
    assert payment.deal is None
    assert (payment.meeting, payment.closer, payment.setter) == (
        latest,
        people["latest"],
        people["latest"],
    )
    assert payment.credit_basis == CreditBasis.MEETING


def test_the_deal_it_pays_for_wins_over_calls(team_a, people):
    org = team_a.org
    contact = ContactFactory(org=org)
    call(org, contact, people["latest"], 1)
    meeting = call(org, contact, people["early"], 5)
    deal = DealFactory(
        org=org,
        contact=contact,
        closer=people["deal_closer"],
        setter=people["deal_setter"],
        meeting=meeting,
        closed_at=PAID_AT - timedelta(days=4),
    )
    DealFactory(org=org, contact=contact, status="lost", closed_at=PAID_AT - timedelta(days=1))
    payment = pay(org, contact)
    assert (payment.deal, payment.closer, payment.setter, payment.meeting) == (
        deal,
        people["deal_closer"],
        people["deal_setter"],
        meeting,
    )
    assert payment.credit_basis == CreditBasis.DEAL


def test_a_deal_won_after_the_payment_lands_moves_the_credit(team_a, people):
    from apps.deals.services import deal_upsert_from_crm
    from attribution.sources import close

    org = team_a.org
    contact = ContactFactory(org=org)
    call(org, contact, people["latest"], 2)
    payment = pay(org, contact)
    assert payment.credit_basis == CreditBasis.MEETING
    people["deal_closer"].external_ids = {"close": "user_dana_closer"}
    people["deal_closer"].save()
    opp = load_fixture("close/opportunity.updated")
    opp["event"]["data"]["date_won"] = "2026-03-15"  # a day after the checkout
    deal, _ = deal_upsert_from_crm(org=org, opportunity=close.parse_webhook(opp), contact=contact)
    payment.refresh_from_db()
    assert (payment.deal, payment.closer) == (deal, people["deal_closer"])


def test_a_deal_far_after_the_payment_is_not_what_it_paid_for(team_a, people):
    org = team_a.org
    contact = ContactFactory(org=org)
    DealFactory(org=org, contact=contact, closed_at=PAID_AT + timedelta(days=60))
    payment = pay(org, contact)
    assert payment.deal is None and payment.credit_basis == CreditBasis.NONE


def test_an_unmatched_payment_waits_for_an_admin_and_the_assignment_sticks(client, team_a, people):
    org = team_a.org
    payment = pay(org, None)
    assert (payment.contact, payment.closer, payment.credit_basis) == (None, None, "none")
    client.force_login(team_a.owner)
    listing = client.get(reverse("admin:payments_payment_changelist"), {"credit": "unassigned"})
    assert payment in listing.context["cl"].result_list

    contact = ContactFactory(org=org)
    meeting = call(org, contact, people["latest"], 1)
    payment_assign(payment=payment, actor=team_a.owner, contact=contact, meeting=meeting)
    payment.refresh_from_db()
    assert (payment.meeting, payment.closer, payment.credit_basis) == (
        meeting,
        people["latest"],
        CreditBasis.MANUAL,
    )
    assert AuditLog.objects.filter(org=org, action="payment.assign").exists()
    # The provider re-sends the payment and a deal appears: the admin's choice holds.
    DealFactory(org=org, contact=contact, closer=people["deal_closer"], closed_at=PAID_AT)
    payment = pay(org, contact, total=1497.0)
    assert (payment.closer, payment.credit_basis) == (people["latest"], CreditBasis.MANUAL)
    listing = client.get(reverse("admin:payments_payment_changelist"), {"credit": "unassigned"})
    assert payment not in listing.context["cl"].result_list


def test_an_admin_assigns_through_the_admin_form(client, team_a, people):
    org = team_a.org
    payment = pay(org, None)
    client.force_login(team_a.owner)
    url = reverse("admin:payments_payment_change", args=[payment.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        {
            "org": org.pk,
            "closer": people["early"].pk,
            "refunds-TOTAL_FORMS": 0,
            "refunds-INITIAL_FORMS": 0,
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    payment.refresh_from_db()
    assert (payment.closer, payment.credit_basis) == (people["early"], CreditBasis.MANUAL)


def test_assigning_another_orgs_rows_is_refused(team_a, team_b):
    payment = pay(team_a.org, None)
    with pytest.raises(ValueError):
        payment_assign(payment=payment, actor=None, closer=team_b.closer_member)
    payment.refresh_from_db()
    assert payment.closer is None
    assert Payment.objects.get(pk=payment.pk).amount == Decimal("1497.00")


def test_cash_an_admin_enters_goes_through_the_service_and_is_credited(client, team_a, people):
    org = team_a.org
    contact = ContactFactory(org=org)
    meeting = call(org, contact, people["latest"], 1)
    client.force_login(team_a.owner)
    response = client.post(
        reverse("admin:payments_payment_add"),
        {
            "org": org.pk,
            "contact": contact.pk,
            "amount": "0.30",
            "currency": "USD",
            "status": "succeeded",
            "paid_at_0": "2026-03-14",
            "paid_at_1": "17:00:00",
            "external_id": "",
            "product": "",
            "description": "",
            "refunds-TOTAL_FORMS": 0,
            "refunds-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    payment = Payment.objects.get(org=org, provider="manual")
    assert payment.amount == Decimal("0.30") and payment.external_id.startswith("admin:")
    assert (payment.meeting, payment.closer, payment.credit_basis) == (
        meeting,
        people["latest"],
        CreditBasis.MEETING,
    )
    assert AuditLog.objects.filter(
        org=org, action="payment.record_manual", target_id=str(payment.pk)
    ).exists()


def test_provider_amounts_are_read_only_in_admin(client, team_a):
    payment = pay(team_a.org, None)
    client.force_login(team_a.owner)
    form = (
        client.get(reverse("admin:payments_payment_change", args=[payment.pk]))
        .context["adminform"]
        .form
    )
    assert "amount" not in form.fields and "paid_at" not in form.fields
    assert "closer" in form.fields


def test_every_path_credits_a_deal_without_a_closer_to_its_calls_closer(team_a, people):
    """One credit rule for the automatic pass, an admin's assignment and cash entered by hand:
    a deal lacking a closer or setter takes its call's, and the call follows the deal."""
    from apps.payments.services import payment_record_manual

    org = team_a.org
    contact = ContactFactory(org=org)
    meeting = call(org, contact, people["latest"], 5)
    deal = DealFactory(
        org=org,
        contact=contact,
        meeting=meeting,
        closer=None,
        setter=people["deal_setter"],
        status="won",
        closed_at=PAID_AT - timedelta(days=4),
    )
    automatic = pay(org, contact)
    assigned = payment_assign(
        payment=pay(org, ContactFactory(org=org), id="pay_2"), actor=None, deal=deal
    )
    by_hand = payment_record_manual(
        org=org,
        contact=contact,
        amount=Decimal("100"),
        currency="USD",
        paid_at=PAID_AT,
        deal=deal,
    )
    for payment in (automatic, assigned, by_hand):
        payment.refresh_from_db()
        assert (payment.deal, payment.meeting) == (deal, meeting)
        assert (payment.closer, payment.setter) == (people["latest"], people["deal_setter"])
    assert by_hand.credit_basis == CreditBasis.DEAL
    assert assigned.credit_basis == CreditBasis.MANUAL


def test_an_admin_edit_goes_through_the_service_and_is_audited(client, team_a):
    from apps.payments.services import payment_record_manual

    org = team_a.org
    payment = payment_record_manual(
        org=org, contact=None, amount=Decimal("100.00"), currency="USD", paid_at=PAID_AT
    )
    client.force_login(team_a.owner)
    response = client.post(
        reverse("admin:payments_payment_change", args=[payment.pk]),
        {
            "org": org.pk,
            "contact": "",
            "deal": "",
            "meeting": "",
            "closer": "",
            "setter": "",
            "amount": "150.00",
            "currency": "USD",
            "status": "succeeded",
            "paid_at_0": "2026-03-14",
            "paid_at_1": "16:02:09",
            "external_id": payment.external_id,
            "product": "",
            "description": "corrected by hand",
            "refunds-TOTAL_FORMS": 0,
            "refunds-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    payment.refresh_from_db()
    assert (payment.amount, payment.description) == (Decimal("150.00"), "corrected by hand")
    entry = AuditLog.objects.get(org=org, action="payment.edit", target_id=str(payment.pk))
    assert entry.actor == team_a.owner
    assert entry.data["changed"]["amount"] == ["100.00", "150.00"]
    assert set(entry.data["changed"]) == {"amount", "description"}


def test_an_admin_edit_that_fails_validation_changes_nothing(team_a):
    from django.core.exceptions import ValidationError

    from apps.payments.services import payment_edit, payment_record_manual

    org = team_a.org
    payment = payment_record_manual(
        org=org, contact=None, amount=Decimal("100.00"), currency="USD", paid_at=PAID_AT
    )
    with pytest.raises(ValidationError):
        payment_edit(payment=payment, actor=None, changes={"currency": "usd!"})
    payment.refresh_from_db()
    assert payment.currency == "USD"
    assert not AuditLog.objects.filter(action="payment.edit").exists()
