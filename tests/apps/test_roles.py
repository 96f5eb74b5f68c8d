"""Roles inside one org (security issue 17): what a rep or a viewer sees of a shared contact,
and who may open and save a call's post-call form.

Closer A is ``team_a.closer``; closer B is ``team_a.other_closer_member`` (a roster entry
without a login: their rows are what closer A must not see).
"""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.deals.models import Deal
from apps.meetings.models import CallType, Meeting, PostCallForm
from apps.meetings.services import magic_link_token
from apps.payments.models import Payment
from tests.factories import (
    ContactFactory,
    DealFactory,
    MeetingFactory,
    PaymentFactory,
    PostCallFormFactory,
    SourceRecordFactory,
)

pytestmark = pytest.mark.django_db

# As every page shows money: the currency's symbol, thousands grouped.
A_DEAL, B_DEAL = "$1,111.00", "$2,222.00"
A_PAID, B_PAID = "$333.00", "$444.00"
A_CASH, B_CASH = "$5,151.00", "$6,262.00"


def _amount(shown: str) -> Decimal:
    return Decimal(shown.lstrip("$").replace(",", ""))


@pytest.fixture
def shared(team_a):
    """One person who had a solution call with closer A and, later, one with closer B."""
    org, a, b = team_a.org, team_a.closer_member, team_a.other_closer_member
    contact = ContactFactory(org=org, first_name="Shared", last_name="Lead")
    calls = {}
    for name, member, cash, deal, paid in (
        ("a", a, A_CASH, A_DEAL, A_PAID),
        ("b", b, B_CASH, B_DEAL, B_PAID),
    ):
        meeting = MeetingFactory(
            org=org, contact=contact, closer=member, host=member, call_type=CallType.SOLUTION
        )
        PostCallFormFactory(
            meeting=meeting,
            outcome=f"outcome-of-{name}",
            deal_closed=True,
            cash_collected=_amount(cash),
            contract_value=_amount(cash),
        )
        DealFactory(org=org, contact=contact, closer=member, value=_amount(deal))
        PaymentFactory(org=org, contact=contact, closer=member, amount=_amount(paid))
        calls[name] = meeting
    SourceRecordFactory(org=org, contact=contact, provider="stripe", external_id="pi_of_b")
    return contact, calls


def _page(client, user, contact) -> str:
    client.force_login(user)
    response = client.get(reverse("contacts:detail", args=[contact.pk]))
    assert response.status_code == 200
    return response.content.decode()


# --- a contact two closers share -----------------------------------------------------------


def test_a_closer_sees_only_their_own_call_deal_and_payment_of_a_shared_contact(
    client, team_a, shared
):
    contact, calls = shared
    body = _page(client, team_a.closer, contact)
    assert reverse("meetings:detail", args=[calls["a"].pk]) in body
    assert A_DEAL in body and A_PAID in body
    assert reverse("meetings:detail", args=[calls["b"].pk]) not in body
    assert team_a.other_closer_member.name not in body
    assert B_DEAL not in body and B_PAID not in body
    assert "pi_of_b" not in body  # provenance would name closer B's payment


def test_a_manager_sees_both_closers_rows_of_the_shared_contact(client, team_a, shared):
    contact, calls = shared
    body = _page(client, team_a.manager, contact)
    for value in (A_DEAL, B_DEAL, A_PAID, B_PAID, "pi_of_b"):
        assert value in body
    assert reverse("meetings:detail", args=[calls["b"].pk]) in body


def test_a_setter_sees_the_calls_deals_and_payments_credited_to_them_only(client, team_a, shared):
    contact, calls = shared
    Meeting.objects.filter(pk=calls["a"].pk).update(setter=team_a.setter_member)
    Deal.objects.filter(contact=contact, value=_amount(A_DEAL)).update(setter=team_a.setter_member)
    body = _page(client, team_a.setter, contact)
    assert reverse("meetings:detail", args=[calls["a"].pk]) in body
    assert A_DEAL in body
    assert reverse("meetings:detail", args=[calls["b"].pk]) not in body
    assert B_DEAL not in body and A_PAID not in body and B_PAID not in body


def test_a_viewer_sees_the_contacts_calls_but_no_money(client, team_a, shared):
    contact, calls = shared
    body = _page(client, team_a.viewer, contact)
    assert reverse("meetings:detail", args=[calls["b"].pk]) in body
    for value in (A_DEAL, B_DEAL, A_PAID, B_PAID):
        assert value not in body
    assert "<h3>Deals</h3>" not in body and "<h3>Payments</h3>" not in body


def test_a_viewer_sees_a_calls_outcome_but_not_its_cash(client, team_a, shared):
    _, calls = shared
    url = reverse("meetings:detail", args=[calls["b"].pk])
    client.force_login(team_a.viewer)
    body = client.get(url).content.decode()
    assert "outcome-of-b" in body
    assert B_CASH not in body
    client.force_login(team_a.manager)
    assert B_CASH in client.get(url).content.decode()


def test_search_and_the_contact_list_show_a_closer_only_people_they_had_a_call_with(
    client, team_a, shared
):
    contact, _ = shared
    only_b = ContactFactory(org=team_a.org, first_name="Shared", last_name="Elsewhere")
    MeetingFactory(org=team_a.org, contact=only_b, closer=team_a.other_closer_member)
    client.force_login(team_a.closer)
    found = client.get(reverse("contacts:list"), {"q": "Shared"}).context["page"]
    assert [c.pk for c in found] == [contact.pk]
    assert client.get(reverse("contacts:detail", args=[only_b.pk])).status_code == 404
    client.force_login(team_a.manager)
    found = client.get(reverse("contacts:list"), {"q": "Shared"}).context["page"]
    assert {c.pk for c in found} == {contact.pk, only_b.pk}


# --- who writes a call's post-call form ----------------------------------------------------


def _pcf(meeting) -> str:
    return reverse("meetings:pcf", args=[meeting.pk])


CLOSED_WITH_CASH = {
    "call_occurred": "on",
    "lead_showed": "on",
    "offer_made": "on",
    "deal_closed": "on",
    "cash_collected": "900",
    "contract_value": "900",
    "payment_type": "paid_in_full",
}


@pytest.fixture
def solution_call(team_a):
    """Closer A's solution call, booked by the setter (so the setter is credited on it)."""
    return MeetingFactory(
        org=team_a.org,
        call_type=CallType.SOLUTION,
        closer=team_a.closer_member,
        host=team_a.closer_member,
        setter=team_a.setter_member,
    )


@pytest.fixture
def triage_call(team_a):
    return MeetingFactory(
        org=team_a.org,
        call_type=CallType.TRIAGE,
        host=team_a.setter_member,
        setter=team_a.setter_member,
    )


def test_the_setter_of_a_solution_call_sees_it_but_may_not_file_its_form(
    client, team_a, solution_call
):
    client.force_login(team_a.setter)
    detail = client.get(reverse("meetings:detail", args=[solution_call.pk]))
    assert detail.status_code == 200
    assert _pcf(solution_call) not in detail.content.decode()
    assert client.get(_pcf(solution_call)).status_code == 403
    assert client.post(_pcf(solution_call), CLOSED_WITH_CASH).status_code == 403
    assert not PostCallForm.objects.filter(meeting=solution_call).exists()
    assert not Deal.objects.filter(org=team_a.org).exists()
    assert not Payment.objects.filter(org=team_a.org).exists()


def test_the_closer_of_a_solution_call_files_its_form(client, team_a, solution_call):
    client.force_login(team_a.closer)
    assert (
        _pcf(solution_call)
        in client.get(reverse("meetings:detail", args=[solution_call.pk])).content.decode()
    )
    assert client.get(_pcf(solution_call)).status_code == 200
    assert client.post(_pcf(solution_call), CLOSED_WITH_CASH).status_code == 200
    assert PostCallForm.objects.get(meeting=solution_call).author == team_a.closer_member
    # The same body the setter is refused with is a valid one: the refusal is the role's.
    assert Deal.objects.get(org=team_a.org).value == Decimal("900.00")
    assert Payment.objects.get(org=team_a.org).amount == Decimal("900.00")


def test_a_setter_does_not_become_the_closer_of_an_unhosted_call_by_filing_it(client, team_a):
    # Nobody hosted it: whoever files its PCF would be credited as its closer (KPIS.md).
    meeting = MeetingFactory(
        org=team_a.org, call_type=CallType.SOLUTION, setter=team_a.setter_member
    )
    client.force_login(team_a.setter)
    assert client.post(_pcf(meeting), CLOSED_WITH_CASH).status_code == 403
    meeting.refresh_from_db()
    assert meeting.closer is None


def test_the_setter_files_their_triage_call_and_a_closer_does_not_reach_it(
    client, team_a, triage_call
):
    client.force_login(team_a.closer)
    assert client.get(_pcf(triage_call)).status_code == 404
    assert client.post(_pcf(triage_call), {"call_occurred": "on"}).status_code == 404
    client.force_login(team_a.setter)
    assert client.get(_pcf(triage_call)).status_code == 200
    assert (
        client.post(_pcf(triage_call), {"call_occurred": "on", "lead_showed": "on"}).status_code
        == 200
    )
    assert PostCallForm.objects.get(meeting=triage_call).author == team_a.setter_member


def test_a_closer_credited_on_a_triage_call_may_not_file_the_setters_form(
    client, team_a, triage_call
):
    Meeting.objects.filter(pk=triage_call.pk).update(closer=team_a.closer_member)
    client.force_login(team_a.closer)
    assert client.get(reverse("meetings:detail", args=[triage_call.pk])).status_code == 200
    assert client.get(_pcf(triage_call)).status_code == 403
    assert client.post(_pcf(triage_call), {"call_occurred": "on"}).status_code == 403


def test_an_other_call_is_filed_by_its_host(client, team_a):
    meeting = MeetingFactory(
        org=team_a.org,
        call_type=CallType.OTHER,
        host=team_a.closer_member,
        setter=team_a.setter_member,
    )
    client.force_login(team_a.setter)
    assert client.get(_pcf(meeting)).status_code == 403
    client.force_login(team_a.closer)
    assert client.get(_pcf(meeting)).status_code == 200


def test_managers_and_admins_file_any_calls_form(client, team_a, solution_call, triage_call):
    for user in (team_a.manager, team_a.admin, team_a.owner):
        client.force_login(user)
        assert client.get(_pcf(solution_call)).status_code == 200
        assert client.get(_pcf(triage_call)).status_code == 200


def test_a_setters_magic_link_opens_their_triage_form_but_not_the_closers(
    client, team_a, solution_call, triage_call
):
    token = magic_link_token(member=team_a.setter_member)
    own = reverse("rep:magic_pcf", args=[token, triage_call.pk])
    closers = reverse("rep:magic_pcf", args=[token, solution_call.pk])
    assert client.get(own).status_code == 200
    assert client.get(closers).status_code == 404
    assert client.post(closers, CLOSED_WITH_CASH).status_code == 404
    assert not PostCallForm.objects.filter(meeting=solution_call).exists()


def test_a_setters_portal_links_to_their_triage_form_only(client, team_a):
    soon = timezone.now().replace(minute=0, second=0, microsecond=0)
    triage = MeetingFactory(
        org=team_a.org,
        call_type=CallType.TRIAGE,
        host=team_a.setter_member,
        setter=team_a.setter_member,
        scheduled_at=soon,
    )
    solution = MeetingFactory(
        org=team_a.org,
        call_type=CallType.SOLUTION,
        host=team_a.closer_member,
        closer=team_a.closer_member,
        setter=team_a.setter_member,
        scheduled_at=soon,
    )
    client.force_login(team_a.setter)
    response = client.get(reverse("rep:portal"))
    assert {m.pk for m in response.context["today"]} == {triage.pk, solution.pk}
    body = response.content.decode()
    assert _pcf(triage) in body
    assert _pcf(solution) not in body
