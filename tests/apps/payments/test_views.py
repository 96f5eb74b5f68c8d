"""The payments, deals and payout pages: filters, totals, CSV with the same numbers, roles, orgs."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.payments.models import CommissionRule, CurrencyRate, PayoutSnapshot
from tests.apps.csv_read import csv_text
from tests.factories import ContactFactory, DealFactory, PaymentFactory, RefundFactory

pytestmark = pytest.mark.django_db
MARCH = {"month": "2026-03"}
WHEN = datetime(2026, 3, 10, 12, tzinfo=UTC)


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(csv_text(response))))


@pytest.fixture
def ledger(team_a, team_b):
    org = team_a.org
    mine = PaymentFactory(
        org=org,
        amount=Decimal("1000.00"),
        paid_at=WHEN,
        closer=team_a.closer_member,
        contact=ContactFactory(org=org, first_name="Minerva"),
    )
    RefundFactory(payment=mine, amount=Decimal("250.00"))
    other = PaymentFactory(
        org=org,
        amount=Decimal("300.00"),
        paid_at=WHEN,
        closer=team_a.other_closer_member,
        setter=team_a.setter_member,
        provider="whop",
        contact=ContactFactory(org=org, first_name="Otto"),
    )
    euro = PaymentFactory(
        org=org,
        amount=Decimal("99.99"),
        currency="EUR",
        paid_at=WHEN,
        contact=ContactFactory(org=org, first_name="Eugenie"),
    )
    pending = PaymentFactory(
        org=org,
        amount=Decimal("5000.00"),
        paid_at=WHEN,
        status="pending",
        closer=team_a.closer_member,
        contact=ContactFactory(org=org, first_name="Penelope"),
    )
    april = PaymentFactory(
        org=org,
        amount=Decimal("7.00"),
        paid_at=datetime(2026, 4, 2, tzinfo=UTC),
        contact=ContactFactory(org=org, first_name="Aprilia"),
    )
    foreign = PaymentFactory(
        org=team_b.org,
        amount=Decimal("12345.00"),
        paid_at=WHEN,
        contact=ContactFactory(org=team_b.org, first_name="Fernando"),
    )
    return {
        "mine": mine,
        "other": other,
        "euro": euro,
        "pending": pending,
        "april": april,
        "foreign": foreign,
    }


def test_a_manager_sees_the_org_with_totals_per_currency(client, team_a, ledger):
    client.force_login(team_a.manager)
    response = client.get(reverse("payments:list"), MARCH)
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("Minerva", "Otto", "Eugenie", "Penelope"):
        assert name in html
    assert "Aprilia" not in html and "Fernando" not in html
    usd, eur = response.context["totals"]
    # Pending money is listed but not cash; the euro payment is shown apart, never added in.
    assert (usd.currency, usd.count, usd.gross, usd.refunds, usd.net) == (
        "USD",
        2,
        Decimal("1300.00"),
        Decimal("250.00"),
        Decimal("1050.00"),
    )
    assert (eur.currency, eur.net, eur.is_org_currency) == ("EUR", Decimal("99.99"), False)
    assert "another currency, not added in" in html
    assert "$1,050.00" in html and "1,399.99" not in html


def test_the_fixed_rate_is_for_reporting_only(client, team_a, ledger):
    CurrencyRate.objects.create(org=team_a.org, currency="EUR", rate=Decimal("1.10000000"))
    client.force_login(team_a.manager)
    response = client.get(reverse("payments:list"), MARCH)
    usd, eur = response.context["totals"]
    assert usd.net == Decimal("1050.00")
    assert eur.net_in_org_currency == Decimal("109.99")
    assert "≈ $109.99" in response.content.decode()


def test_filters_and_the_csv_carry_the_same_numbers(client, team_a, ledger):
    client.force_login(team_a.manager)
    query = {**MARCH, "closer": team_a.closer_member.pk, "status": "succeeded"}
    page = client.get(reverse("payments:list"), query)
    [usd] = page.context["totals"]
    assert (usd.count, usd.net) == (1, Decimal("750.00"))
    rows = rows_of(client.get(reverse("payments:list"), {**query, "format": "csv"}))
    assert rows[0][:3] == ["paid_at", "contact", "provider"]
    body, totals = rows[1:-1], rows[-1]
    assert [r[6:9] for r in body] == [["1000.00", "250.00", "750.00"]]
    assert totals[0] == "TOTAL succeeded" and totals[5:9] == ["USD", "1000.00", "250.00", "750.00"]
    by_provider = client.get(reverse("payments:list"), {**MARCH, "provider": "whop"})
    assert [p.pk for p in by_provider.context["page"]] == [ledger["other"].pk]
    refunded = client.get(reverse("payments:list"), {**MARCH, "status": "refunded"})
    assert [p.pk for p in refunded.context["page"]] == [ledger["mine"].pk]
    setter = client.get(reverse("payments:list"), {**MARCH, "setter": team_a.setter_member.pk})
    assert [p.pk for p in setter.context["page"]] == [ledger["other"].pk]


def test_htmx_gets_only_the_table(client, team_a, ledger):
    client.force_login(team_a.manager)
    response = client.get(reverse("payments:list"), MARCH, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="ledger-body"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_a_closer_sees_only_their_own_and_a_viewer_nothing(client, team_a, ledger):
    client.force_login(team_a.closer)
    response = client.get(reverse("payments:list"), MARCH)
    html = response.content.decode()
    assert "Minerva" in html and "Penelope" in html
    assert "Otto" not in html and "Eugenie" not in html
    # Asking for another closer's rows is not a choice a closer has: never their rows.
    other = client.get(reverse("payments:list"), {**MARCH, "closer": team_a.other_closer_member.pk})
    assert ledger["other"] not in other.context["page"]
    csv_rows = rows_of(client.get(reverse("payments:list"), {**MARCH, "format": "csv"}))
    assert {r[1] for r in csv_rows[1:-1]} == {
        str(ledger["mine"].contact),
        str(ledger["pending"].contact),
    }
    client.force_login(team_a.setter)
    html = client.get(reverse("payments:list"), MARCH).content.decode()
    assert "Otto" in html and "Minerva" not in html
    client.force_login(team_a.viewer)
    assert client.get(reverse("payments:list"), MARCH).status_code == 403
    assert client.get(reverse("deals:list"), MARCH).status_code == 403


def test_a_rep_off_the_roster_sees_nothing(client, team_a, ledger):
    team_a.closer_member.user = None
    team_a.closer_member.save()
    client.force_login(team_a.closer)
    response = client.get(reverse("payments:list"), MARCH)
    assert response.status_code == 200 and list(response.context["page"]) == []
    assert response.context["totals"] == []


def test_another_org_sees_none_of_it(client, team_b, ledger):
    client.force_login(team_b.owner)
    html = client.get(reverse("payments:list"), MARCH).content.decode()
    assert "Fernando" in html and "Minerva" not in html
    html = client.get(reverse("deals:list"), MARCH).content.decode()
    assert "Minerva" not in html


def test_wrong_methods(client, team_a):
    client.force_login(team_a.manager)
    assert client.post(reverse("payments:list")).status_code == 405
    assert client.post(reverse("deals:list")).status_code == 405
    assert client.delete(reverse("payments:payouts")).status_code == 405


def test_the_deals_page(client, team_a, team_b):
    org = team_a.org
    DealFactory(
        org=org,
        value=Decimal("4000.00"),
        closed_at=WHEN,
        closer=team_a.closer_member,
        contact=ContactFactory(org=org, first_name="Wendy"),
    )
    DealFactory(
        org=org,
        value=Decimal("100.00"),
        currency="EUR",
        closed_at=WHEN,
        contact=ContactFactory(org=org, first_name="Eugenie"),
    )
    DealFactory(
        org=org,
        value=Decimal("1.00"),
        status="lost",
        closed_at=WHEN,
        closer=team_a.other_closer_member,
        contact=ContactFactory(org=org, first_name="Lenny"),
    )
    DealFactory(
        org=team_b.org,
        closed_at=WHEN,
        contact=ContactFactory(org=team_b.org, first_name="Fernando"),
    )
    client.force_login(team_a.manager)
    response = client.get(reverse("deals:list"), {**MARCH, "status": "won"})
    html = response.content.decode()
    assert "Wendy" in html and "Eugenie" in html and "Lenny" not in html and "Fernando" not in html
    usd, eur = response.context["totals"]
    assert (usd.count, usd.gross, eur.gross) == (1, Decimal("4000.00"), Decimal("100.00"))
    rows = rows_of(client.get(reverse("deals:list"), {**MARCH, "status": "won", "format": "csv"}))
    assert [r[:7] for r in rows if r[0] == "TOTAL"] == [
        ["TOTAL", "1 deals", "", "", "", "USD", "4000.00"],
        ["TOTAL", "1 deals", "", "", "", "EUR", "100.00"],
    ]
    client.force_login(team_a.closer)
    html = client.get(reverse("deals:list"), MARCH).content.decode()
    assert "Wendy" in html and "Lenny" not in html and "Eugenie" not in html


def test_payout_pages_are_for_managers(client, team_a, team_b):
    org = team_a.org
    CommissionRule.objects.create(
        org=org, team_member=team_a.closer_member, role="closer", percent=10
    )
    PaymentFactory(
        org=org,
        amount=Decimal("1000.00"),
        paid_at=WHEN,
        closer=team_a.closer_member,
        contact=ContactFactory(org=org, original_source="google"),
    )
    for user in (team_a.closer, team_a.setter, team_a.viewer):
        client.force_login(user)
        assert client.get(reverse("payments:payouts")).status_code == 403
        assert (
            client.post(
                reverse("payments:payouts"), {"start": "2026-03-01", "end": "2026-03-31"}
            ).status_code
            == 403
        )
    assert not PayoutSnapshot.objects.exists()

    client.force_login(team_a.manager)
    bad = client.post(reverse("payments:payouts"), {"start": "2026-03-31", "end": "2026-03-01"})
    assert bad.status_code == 422
    response = client.post(
        reverse("payments:payouts"), {"start": "2026-03-01", "end": "2026-03-31"}
    )
    snapshot = PayoutSnapshot.objects.get(org=org)
    assert response.status_code == 302
    assert response["Location"] == reverse("payments:payout_detail", args=[snapshot.pk])
    detail = client.get(response["Location"]).content.decode()
    assert "google" in detail and "100.00" in detail
    rows = rows_of(client.get(response["Location"], {"format": "csv"}))
    assert rows[-1][0] == "TOTAL" and rows[-1][5] == "USD" and rows[-1][7] == "1000.00"
    assert rows[-1][9] == "100.00"
    listing = client.get(reverse("payments:payouts")).content.decode()
    assert "$100.00 commission" in listing

    client.force_login(team_b.owner)
    assert client.get(reverse("payments:payout_detail", args=[snapshot.pk])).status_code == 404
    assert "google" not in client.get(reverse("payments:payouts")).content.decode()


def test_admins_are_pointed_at_the_payments_waiting_for_them(client, team_a, ledger):
    # ledger["euro"] and ledger["april"] match no deal and no call.
    client.force_login(team_a.owner)
    html = client.get(reverse("payments:list"), MARCH).content.decode()
    assert 'data-unassigned="2"' in html
    assert reverse("admin:payments_payment_changelist") + "?credit=unassigned" in html
    client.force_login(team_a.manager)
    assert "data-unassigned" not in client.get(reverse("payments:list"), MARCH).content.decode()


def test_a_reps_filters_offer_only_themselves(client, team_a, ledger):
    client.force_login(team_a.closer)
    for url in (reverse("payments:list"), reverse("deals:list")):
        form = client.get(url, MARCH).context["form"]
        assert list(form.fields["closer"].queryset) == [team_a.closer_member]
        assert list(form.fields["setter"].queryset) == []
    client.force_login(team_a.manager)
    form = client.get(reverse("payments:list"), MARCH).context["form"]
    assert team_a.other_closer_member in form.fields["closer"].queryset
