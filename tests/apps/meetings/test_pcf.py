"""Post-call forms: validation, custom fields, lock, money through deals and payments, the page."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.deals.models import Deal
from apps.meetings.models import PostCallForm, PostCallFormConfig
from apps.meetings.services import PcfLocked, pcf_lock, pcf_submit
from apps.orgs.models import AuditLog
from apps.payments.models import Payment
from tests.factories import MeetingFactory

pytestmark = pytest.mark.django_db

CUSTOM = [
    {"key": "objection", "label": "Objection", "type": "select", "choices": ["price", "time"]},
    {"key": "budget", "label": "Budget", "type": "money", "required": True},
]


@pytest.fixture
def meeting(team_a):
    return MeetingFactory(org=team_a.org, closer=team_a.closer_member, host=team_a.closer_member)


@pytest.fixture
def config(team_a):
    return PostCallFormConfig.objects.create(
        org=team_a.org, outcomes=["Won", "Follow-up", "Lost"], custom_fields=CUSTOM
    )


def submit(team_a, meeting, **data):
    data.setdefault("call_occurred", True)
    data.setdefault("lead_showed", True)
    return pcf_submit(
        org=team_a.org, meeting=meeting, author=team_a.closer_member, data=data, actor=team_a.closer
    )


def test_a_closed_deal_and_cash_go_through_the_deal_and_payment_services(team_a, meeting):
    pcf = submit(
        team_a,
        meeting,
        offer_made=True,
        deal_closed=True,
        contract_value=Decimal("10000"),
        cash_collected=Decimal("5000"),
        payment_type="deposit",
    )
    deal = Deal.objects.get(pcf=pcf)
    assert (deal.status, deal.value, deal.closer) == ("won", Decimal("10000"), team_a.closer_member)
    payment = Payment.objects.get(org=team_a.org, external_id=f"pcf:{pcf.pk}")
    assert (payment.amount, payment.deal, payment.meeting) == (Decimal("5000"), deal, meeting)
    # Saving again neither doubles the deal nor the cash.
    submit(
        team_a,
        meeting,
        offer_made=True,
        deal_closed=True,
        contract_value=Decimal("12000"),
        cash_collected=Decimal("6000"),
        payment_type="deposit",
    )
    assert Deal.objects.filter(pcf=pcf).get().value == Decimal("12000")
    assert Payment.objects.filter(org=team_a.org, provider="manual").get().amount == Decimal("6000")
    assert AuditLog.objects.filter(org=team_a.org, action="pcf.edit").exists()


def test_a_pcf_corrected_to_not_closed_withdraws_its_deal_and_cash(team_a, meeting):
    submit(
        team_a,
        meeting,
        deal_closed=True,
        contract_value=Decimal("100"),
        cash_collected=Decimal("50"),
        payment_type="paid_in_full",
    )
    submit(team_a, meeting, deal_closed=False, cash_collected=Decimal("0"))
    assert not Deal.objects.filter(org=team_a.org).exists()
    assert not Payment.objects.filter(org=team_a.org).exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"cash_collected": Decimal("-1"), "payment_type": "deposit"}, "cash_collected"),
        ({"deal_closed": True}, "contract_value"),
        ({"call_occurred": False, "lead_showed": True}, "lead_showed"),
        ({"lead_showed": False, "offer_made": True}, "offer_made"),
        ({"cash_collected": Decimal("10")}, "payment_type"),
        ({"outcome": "Maybe"}, "outcome"),
        ({"custom": {"objection": "mood", "budget": "5"}}, "custom_objection"),
        ({"custom": {}}, "custom_budget"),
    ],
)
def test_invalid_data_is_refused_by_field_and_nothing_is_saved(
    team_a, meeting, config, data, field
):
    data.setdefault("custom", {"budget": "1000"})
    with pytest.raises(ValidationError) as exc:
        submit(team_a, meeting, **data)
    assert field in exc.value.message_dict
    assert not PostCallForm.objects.filter(meeting=meeting).exists()


def test_custom_fields_are_stored_cleaned(team_a, meeting, config):
    pcf = submit(
        team_a, meeting, outcome="Follow-up", custom={"objection": "price", "budget": "99.5"}
    )
    assert pcf.custom == {"objection": "price", "budget": "99.50"}


def test_a_locked_pcf_cannot_be_edited(team_a, meeting):
    pcf = submit(team_a, meeting)
    pcf_lock(pcf=pcf, actor=team_a.manager)
    assert AuditLog.objects.filter(action="pcf.lock", target_id=str(pcf.pk)).exists()
    with pytest.raises(PcfLocked):
        submit(team_a, meeting, lead_showed=False)
    pcf.refresh_from_db()
    assert pcf.lead_showed is True


# --- the page ---------------------------------------------------------------------------------


def url(meeting):
    return reverse("meetings:pcf", args=[meeting.pk])


def post_data(**overrides):
    data = {
        "call_occurred": "yes",
        "lead_showed": "yes",
        "offer_made": "no",
        "deal_closed": "no",
        "cash_collected": "",
        "contract_value": "",
    }
    data.update(overrides)
    return data


def test_the_closer_fills_the_form(client, team_a, meeting, config):
    client.force_login(team_a.closer)
    assert client.get(url(meeting)).status_code == 200
    response = client.post(url(meeting), post_data(outcome="Follow-up", custom_budget="500"))
    assert response.status_code == 200
    pcf = PostCallForm.objects.get(meeting=meeting)
    assert pcf.author == team_a.closer_member and pcf.custom["budget"] == "500.00"


def test_errors_come_back_next_to_the_field_over_htmx(client, team_a, meeting, config):
    client.force_login(team_a.closer)
    response = client.post(
        url(meeting), post_data(cash_collected="-5", custom_budget="abc"), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "greater than or equal to 0" in body
    assert "Enter a number." in body
    assert "<html" not in body  # the partial only
    assert not PostCallForm.objects.filter(meeting=meeting).exists()


def test_a_service_rule_error_is_shown_on_its_field(client, team_a, meeting, config):
    client.force_login(team_a.closer)
    response = client.post(url(meeting), post_data(outcome="Follow-up"))
    assert "Budget is required." in response.content.decode()
    assert response.context["form"].errors["custom_budget"] == ["Budget is required."]


def test_a_manager_may_write_any_calls_form(client, team_a, meeting):
    client.force_login(team_a.manager)
    assert client.post(url(meeting), post_data()).status_code == 200
    assert PostCallForm.objects.get(meeting=meeting).author is None


def test_a_viewer_may_not_open_the_form(client, team_a, meeting):
    client.force_login(team_a.viewer)
    assert client.get(url(meeting)).status_code == 403
    assert client.post(url(meeting), post_data()).status_code == 403


def test_another_closers_call_is_not_found(client, team_a):
    other = MeetingFactory(org=team_a.org, closer=team_a.other_closer_member)
    client.force_login(team_a.closer)
    assert client.get(url(other)).status_code == 404
    assert client.post(url(other), post_data()).status_code == 404


def test_an_outsider_gets_404(client, outsider, meeting):
    client.force_login(outsider)
    assert client.get(url(meeting)).status_code == 404
    assert client.post(url(meeting), post_data()).status_code == 404


def test_wrong_method_is_405(client, team_a, meeting):
    client.force_login(team_a.closer)
    assert client.put(url(meeting)).status_code == 405


def test_a_locked_form_answers_409_on_post(client, team_a, meeting):
    pcf = submit(team_a, meeting)
    pcf_lock(pcf=pcf, actor=team_a.manager)
    client.force_login(team_a.closer)
    assert client.post(url(meeting), post_data(lead_showed="")).status_code == 409


def test_managers_lock_and_closers_may_not(client, team_a, meeting):
    pcf = submit(team_a, meeting)
    lock = reverse("meetings:pcf_lock", args=[meeting.pk])
    client.force_login(team_a.closer)
    assert client.post(lock).status_code == 403
    client.force_login(team_a.manager)
    assert client.get(lock).status_code == 405
    assert client.post(lock).status_code == 302
    pcf.refresh_from_db()
    assert pcf.locked_at is not None and pcf.locked_by == team_a.manager
    client.post(lock, {"unlock": "1"})
    pcf.refresh_from_db()
    assert pcf.locked_at is None


def test_an_outsider_cannot_lock(client, outsider, meeting, team_a):
    submit(team_a, meeting)
    client.force_login(outsider)
    assert client.post(reverse("meetings:pcf_lock", args=[meeting.pk])).status_code == 404


# --- what a closer is asked (no defaults, consistent answers) ---------------------------------


def test_a_new_form_has_no_answer_chosen(client, team_a, meeting):
    client.force_login(team_a.closer)
    body = client.get(url(meeting)).content.decode()
    assert 'name="call_occurred" value="yes"' in body
    assert "checked" not in body  # not even "the call took place": a no-show was saved unread


def test_a_blank_form_is_refused_and_nothing_is_saved(client, team_a, meeting):
    client.force_login(team_a.closer)
    response = client.post(url(meeting), {"cash_collected": "", "contract_value": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["call_occurred"] == ["Say whether the call took place."]
    assert "Saved." not in response.content.decode()
    assert not PostCallForm.objects.filter(meeting=meeting).exists()


def test_a_showed_solution_call_needs_the_offer_and_deal_answered(client, team_a, meeting):
    client.force_login(team_a.closer)
    response = client.post(url(meeting), {"call_occurred": "yes", "lead_showed": "yes"})
    errors = response.context["form"].errors
    assert errors["offer_made"] == ["Say whether an offer was made."]
    assert errors["deal_closed"] == ["Say whether the deal closed."]
    assert not PostCallForm.objects.filter(meeting=meeting).exists()


def test_a_call_that_did_not_happen_asks_nothing_more(client, team_a, meeting):
    client.force_login(team_a.closer)
    client.post(url(meeting), {"call_occurred": "no"})
    pcf = PostCallForm.objects.get(meeting=meeting)
    assert (pcf.call_occurred, pcf.lead_showed, pcf.offer_made, pcf.deal_closed) == (
        False,
        False,
        False,
        False,
    )


def test_an_outcome_that_says_closed_needs_the_deal_closed(client, team_a, meeting, config):
    client.force_login(team_a.closer)
    response = client.post(url(meeting), post_data(outcome="Won", custom_budget="1"))
    assert "says the deal closed" in response.context["form"].errors["outcome"][0]
    assert not PostCallForm.objects.filter(meeting=meeting).exists()


def test_an_outcome_that_says_no_show_needs_a_no_show(team_a, meeting):
    with pytest.raises(ValidationError) as exc:
        submit(team_a, meeting, outcome="No show")
    assert "no-show" in exc.value.message_dict["outcome"][0]


def test_cash_above_the_contract_asks_for_confirmation(client, team_a, meeting):
    client.force_login(team_a.closer)
    data = post_data(
        offer_made="yes",
        deal_closed="yes",
        contract_value="3000",
        cash_collected="9000",
        payment_type="paid_in_full",
    )
    response = client.post(url(meeting), data)
    message = response.context["form"].errors["confirm_cash_above_contract"][0]
    assert "9,000.00" in message and "3,000.00" in message
    assert 'name="confirm_cash_above_contract"' in response.content.decode()
    assert not PostCallForm.objects.filter(meeting=meeting).exists()
    assert not Payment.objects.exists()

    client.post(url(meeting), {**data, "confirm_cash_above_contract": "on"})
    pcf = PostCallForm.objects.get(meeting=meeting)
    assert pcf.cash_collected == Decimal("9000") and pcf.contract_value == Decimal("3000")
