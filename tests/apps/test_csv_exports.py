"""CSV exports neutralise formula cells a lead can plant (security issue 17, finding 2).

A UTM source arrives from whoever fills a form; it becomes the contact's original source and is
written into the dashboard's sources table and every payout line. Opened in Excel or Sheets, a
cell such as ``=HYPERLINK(...)`` would run, so it must arrive prefixed with a quote, while the
amounts beside it, negative ones included, stay numbers.
"""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.contacts.models import Contact
from apps.integrations.ingest import ingest_record, parse_payload
from apps.kpis.services import rollup_rebuild
from apps.payments.models import CommissionRule, PayoutSnapshot
from apps.payments.services import payout_snapshot_create
from tests.apps.csv_read import csv_text
from tests.apps.kpis.helpers import at, past_month
from tests.attribution.sources.conftest import load_fixture
from tests.factories import ContactFactory, DealFactory, PaymentFactory, RefundFactory

pytestmark = pytest.mark.django_db

# Lower case: sources are case-folded on the way in (one channel whatever its spelling), and a
# spreadsheet runs =hyperlink(...) as readily as =HYPERLINK(...).
PLANTED = ['=hyperlink("http://x")', "+1", "-2+3", "@sum(a1)"]
REFUNDED = PLANTED[0]


def _form_response(org, n: int, utm_source: str, day) -> Contact:
    """A Typeform response carrying ``utm_source`` in its hidden fields, through ingestion."""
    envelope = load_fixture("typeform/form_response")
    response = envelope["form_response"]
    envelope["event_id"] = f"EVplanted{n}"
    response["token"] = f"planted{n}"
    response["landed_at"] = response["submitted_at"] = at(org, day, 9).isoformat()
    response["hidden"] = {"utm_source": utm_source, "utm_campaign": "spring"}
    for answer in response["answers"]:
        if answer["type"] == "email":
            answer["email"] = f"planted.lead{n}@gmail.com"
        if answer["type"] == "phone_number":
            answer["phone_number"] = f"+1415555{2000 + n}"
    ingest_record(
        org=org,
        record=parse_payload(org=org, provider="typeform", envelope=envelope),
        via="webhook",
    )
    return Contact.objects.for_org(org).get(primary_email=f"planted.lead{n}@gmail.com")


@pytest.fixture
def planted(team_a):
    """Month one: a lead per planted source, each paying 1,000 to closer A (10% commission).
    Month two: the first one's payment is refunded in full, after month one's payout."""
    org = team_a.org
    first, _ = past_month(3)
    second, _ = past_month(2)
    CommissionRule.objects.create(
        org=org, team_member=team_a.closer_member, role="closer", percent=10
    )
    refunded_payment = None
    for n, source in enumerate(PLANTED):
        contact = _form_response(org, n, source, first + timedelta(days=n))
        assert contact.original_source == source  # the value travelled unchanged
        payment = PaymentFactory(
            org=org,
            contact=contact,
            closer=team_a.closer_member,
            amount=Decimal("1000.00"),
            currency=org.currency,
            paid_at=at(org, first + timedelta(days=n + 1), 15),
        )
        if source == REFUNDED:
            refunded_payment = payment
    month_one = payout_snapshot_create(org=org, start=first, end=_end(first), actor=None)
    RefundFactory(
        payment=refunded_payment,
        amount=Decimal("1000.00"),
        currency=org.currency,
        refunded_at=at(org, second + timedelta(days=3), 12),
    )
    month_two = payout_snapshot_create(org=org, start=second, end=_end(second), actor=None)
    rollup_rebuild(org=org)
    return {"first": first, "second": second, "payouts": (month_one, month_two)}


def _end(first_day):
    return (first_day + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(csv_text(response))))


def _sources_csv(client, month) -> list[dict[str, str]]:
    rows = _rows(
        client.get(
            reverse("kpis:dashboard"),
            {"month": f"{month:%Y-%m}", "format": "csv", "table": "sources"},
        )
    )
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_planted_sources_reach_the_sources_csv_neutralised(client, team_a, planted):
    client.force_login(team_a.manager)
    rows = {row["Source"]: row for row in _sources_csv(client, planted["first"])}
    assert sorted(rows) == sorted("'" + source for source in PLANTED)
    # The numbers beside them are written as they are: no quote in front of any of them.
    assert {row["Leads"] for row in rows.values()} == {"1"}
    assert rows["'" + REFUNDED]["Cash ($)"] == "0.00"  # a period's cash is net of its refunds
    assert {rows["'" + source]["Cash ($)"] for source in PLANTED[1:]} == {"1,000.00"}


def test_planted_sources_reach_the_payout_csv_neutralised_and_clawbacks_stay_numbers(
    client, team_a, planted
):
    month_one, month_two = planted["payouts"]
    client.force_login(team_a.manager)

    def lines(snapshot: PayoutSnapshot) -> list[dict[str, str]]:
        url = reverse("payments:payout_detail", args=[snapshot.pk])
        rows = _rows(client.get(url, {"format": "csv"}))
        return [dict(zip(rows[0], row, strict=True)) for row in rows[1:] if row[0].isdigit()]

    paid = [line for line in lines(month_one) if line["role"] == "closer"]
    assert sorted(line["source"] for line in paid) == sorted("'" + source for source in PLANTED)
    assert {line["commission"] for line in paid} == {"100.00"}

    (clawback,) = [line for line in lines(month_two) if line["role"] == "closer"]
    assert clawback["source"] == "'" + REFUNDED
    assert clawback["adjustment"] == "yes"
    assert (clawback["net"], clawback["commission"]) == ("-1000.00", "-100.00")


def test_a_planted_name_reaches_the_payments_and_deals_csvs_neutralised(client, team_a):
    org = team_a.org
    first, end = past_month(2)
    contact = ContactFactory(org=org, first_name='=HYPERLINK("http://x")', last_name="Lead")
    when = at(org, first + timedelta(days=2), 15)
    PaymentFactory(org=org, contact=contact, amount=Decimal("1000.00"), paid_at=when)
    DealFactory(org=org, contact=contact, value=Decimal("2500.00"), closed_at=when)
    client.force_login(team_a.manager)
    period = {"start": f"{first}", "end": f"{end}", "format": "csv"}
    for name, amount_column, amount in (
        ("payments:list", "amount", "1000.00"),
        ("deals:list", "value", "2500.00"),
    ):
        rows = _rows(client.get(reverse(name), period))
        (line,) = [dict(zip(rows[0], row, strict=True)) for row in rows[1:-1]]
        assert line["contact"] == "'" + str(contact), name
        assert line[amount_column] == amount, name
