"""A refund typed on a payment's admin page goes through the payment services: it is saved on
the payment's org, keeps the provider's reported total net of it, is audited, and a refund that
cannot stand (another currency, more than is left) is refused with nothing saved."""

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.orgs.models import AuditLog
from apps.payments.models import Payment, Refund
from tests.apps.payments.test_upserts import ingest_stripe, stripe_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def refunded(team_a):
    """A Stripe payment of 2,500 whose charge.refunded said 500 back, without itemised refunds."""
    ingest_stripe(team_a.org, None, stripe_events("charge.succeeded", "charge.refunded"))
    return Payment.objects.get(org=team_a.org)


def page_data(response) -> dict:
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        if hasattr(value, "isoformat") and hasattr(value, "hour"):
            data[f"{name}_0"], data[f"{name}_1"] = value.date(), value.time()
        else:
            data[name] = getattr(value, "pk", value)
    formset = response.context["inline_admin_formsets"][0].formset
    for name, value in formset.management_form.initial.items():
        data[f"{formset.prefix}-{name}"] = value
    for sub in formset.initial_forms:
        data[sub.add_prefix("id")] = sub.instance.pk
        data[sub.add_prefix("payment")] = sub.instance.payment_id
        for name in ("amount", "currency", "provider", "external_id", "reason"):
            data[sub.add_prefix(name)] = getattr(sub.instance, name)
        moment = sub.instance.refunded_at
        data[sub.add_prefix("refunded_at_0")] = moment.date()
        data[sub.add_prefix("refunded_at_1")] = moment.time()
    return data


def add_refund(client, payment, **fields):
    url = reverse("admin:payments_payment_change", args=[payment.pk])
    data = page_data(client.get(url))
    n = int(data["refunds-TOTAL_FORMS"])
    row = {
        "amount": "500.00",
        "currency": payment.currency,
        "provider": "manual",
        "external_id": "",
        "reason": "refunded by bank transfer",
        "refunded_at_0": "2026-03-20",
        "refunded_at_1": "10:00:00",
        "payment": payment.pk,
        **fields,
    }
    data.update({f"refunds-{n}-{name}": value for name, value in row.items()})
    data["refunds-TOTAL_FORMS"] = n + 1
    return client.post(url, data)


def test_a_refund_typed_on_the_payment_page_replaces_the_reported_total(client, team_a, refunded):
    assert [r.external_id for r in refunded.refunds.all()] == [f"balance:{refunded.external_id}"]
    client.force_login(team_a.owner)
    response = add_refund(client, refunded)
    assert response.status_code == 302
    [refund] = refunded.refunds.all()  # the balance row gave way to the itemised refund
    assert refund.org == team_a.org and refund.amount == Decimal("500.00")
    assert refund.external_id.startswith("admin:")
    assert AuditLog.objects.filter(
        org=team_a.org, action="refund.create", target_id=str(refund.pk)
    ).exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"amount": "2500.01"}, "Only 2500.00 USD of this payment is left to refund."),
        ({"currency": "EUR", "amount": "10.00"}, "A refund of this payment is in USD."),
    ],
)
def test_a_refund_that_cannot_stand_is_refused_and_nothing_changes(
    client, team_a, refunded, fields, message
):
    before = list(Refund.objects.values_list("pk", "amount"))
    client.force_login(team_a.owner)
    # A payment of 2,500 in USD; the 500 reported back is not itemised yet, so the refund
    # typed here may be that one.
    assert refunded.amount == Decimal("2500.00") and refunded.currency == "USD"
    response = add_refund(client, refunded, **fields)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert list(Refund.objects.values_list("pk", "amount")) == before


def test_an_itemised_refund_beyond_what_is_left_is_refused(client, team_a, refunded):
    client.force_login(team_a.owner)
    assert add_refund(client, refunded, amount="2000.00").status_code == 302
    response = add_refund(client, refunded, amount="500.01")
    assert "Only 500.00 USD of this payment is left to refund." in response.content.decode()
    assert sorted(r.amount for r in refunded.refunds.all()) == [Decimal("2000.00")]


def test_deleting_a_typed_refund_brings_back_the_reported_total(client, team_a, refunded):
    client.force_login(team_a.owner)
    assert add_refund(client, refunded).status_code == 302
    url = reverse("admin:payments_payment_change", args=[refunded.pk])
    data = page_data(client.get(url))
    data["refunds-0-DELETE"] = "on"
    assert client.post(url, data).status_code == 302
    assert [(r.external_id, r.amount) for r in refunded.refunds.all()] == [
        (f"balance:{refunded.external_id}", Decimal("500.00"))
    ]
    assert AuditLog.objects.filter(org=team_a.org, action="refund.delete").exists()
