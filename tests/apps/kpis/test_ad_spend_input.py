"""Ad spend as people type it (admin, CSV) reaches every figure, or is refused with a reason."""

import importlib
import io
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from apps.contacts.services import contact_resolve
from apps.kpis.models import AdSpend, DailyRollup
from apps.kpis.services import AdSpendImportError, ad_spend_import, rollup_rebuild
from apps.payments.models import Payment
from tests.apps.contacts.helpers import person
from tests.apps.kpis.helpers import lead, past_month
from tests.factories import AdSpendFactory, ContactFactory

pytestmark = pytest.mark.django_db


def _add_spend(client, org, **fields):
    data = {
        "org": org.pk,
        "granularity": "day",
        "date": "2026-03-15",
        "source": "facebook",
        "campaign": "",
        "amount": "100.00",
        "currency": "USD",
        **fields,
    }
    return client.post(reverse("admin:kpis_adspend_add"), data)


def test_admin_refuses_spend_in_another_currency_naming_the_orgs(team_a, login):
    response = _add_spend(login(team_a.owner), team_a.org, currency="EUR")

    assert response.status_code == 200
    assert "Org A reports in USD" in response.content.decode()
    assert not AdSpend.objects.exists()


def test_admin_offers_iso_codes_and_refuses_free_text(team_a, login):
    client = login(team_a.owner)
    page = client.get(reverse("admin:kpis_adspend_add")).content.decode()
    assert '<option value="USD"' in page and '<option value="JPY"' in page

    response = _add_spend(client, team_a.org, currency="dol")

    assert "Select a valid choice" in response.content.decode()
    assert not AdSpend.objects.exists()


def test_admin_stores_one_spelling_of_source_and_campaign_and_keeps_the_typed_one(team_a, login):
    response = _add_spend(
        login(team_a.owner), team_a.org, source=" Facebook/VSL-Cold ", campaign="Spring  Launch"
    )

    assert response.status_code == 302
    spend = AdSpend.objects.get()
    assert (spend.source, spend.campaign) == ("facebook/vsl-cold", "spring launch")
    assert (spend.source_raw, spend.campaign_raw) == ("Facebook/VSL-Cold", "Spring  Launch")


def test_admin_refuses_a_monthly_row_not_on_the_first(team_a, login):
    response = _add_spend(login(team_a.owner), team_a.org, granularity="month")

    assert "dated the first of its month: 2026-03-01" in response.content.decode()
    assert not AdSpend.objects.exists()


@pytest.mark.parametrize("typed", ["dol", "usd"])
def test_hand_entered_payment_currency_is_an_iso_code(team_a, login, typed):
    client = login(team_a.owner)
    contact = ContactFactory(org=team_a.org)
    page = client.get(reverse("admin:payments_payment_add")).content.decode()
    assert '<option value="GBP"' in page

    response = client.post(
        reverse("admin:payments_payment_add"),
        {
            "org": team_a.org.pk,
            "contact": contact.pk,
            "amount": "500.00",
            "currency": typed,
            "paid_at_0": "2026-03-15",
            "paid_at_1": "12:00:00",
            "status": "succeeded",
            "refunds-TOTAL_FORMS": "0",
            "refunds-INITIAL_FORMS": "0",
        },
    )

    assert "Select a valid choice" in response.content.decode()
    assert not Payment.objects.exists()


def _import(org, text):
    return ad_spend_import(org=org, file=io.StringIO(text))


def test_import_refuses_another_currency_and_a_made_up_one(team_a):
    with pytest.raises(AdSpendImportError) as error:
        _import(
            team_a.org,
            "date,source,campaign,amount,currency\n"
            "2026-03-02,facebook,a,10,EUR\n"
            "2026-03-03,facebook,b,10,dollars\n",
        )

    messages = dict(error.value.lines)
    assert "Org A reports in USD" in messages[2]
    assert "'dollars' is not an ISO 4217 code" in messages[3]
    assert not AdSpend.objects.exists()


def test_import_takes_the_orgs_currency_given_or_not(team_a):
    _import(
        team_a.org,
        "date,source,campaign,amount,currency\n"
        "2026-03-02,facebook,a,10,usd\n"
        "2026-03-03,facebook,b,10,\n",
    )

    assert list(AdSpend.objects.values_list("currency", flat=True)) == ["USD", "USD"]


def test_import_reports_two_spellings_of_one_channel_as_the_same_line(team_a):
    with pytest.raises(AdSpendImportError) as error:
        _import(
            team_a.org,
            "date,source,campaign,amount\n"
            "2026-03-02,Facebook/VSL-Cold,x,10\n"
            "2026-03-02,facebook/vsl-cold ,x,10\n",
        )

    assert error.value.lines == [(3, "the same period, source and campaign as line 2")]


def test_imported_spend_meets_the_leads_of_the_same_channel_however_spelt(team_a):
    org = team_a.org
    start, _ = past_month()
    contact = contact_resolve(
        org=org,
        observation=person(email="a@example.com", utm_source="Facebook ", utm_campaign="VSL Cold"),
    ).contact
    contact.first_seen_at = lead(org, start).first_seen_at
    contact.save()
    _import(org, f"month,source,campaign,amount\n{start:%Y-%m},FACEBOOK,vsl  cold,300\n")
    rollup_rebuild(org=org)

    rows = DailyRollup.objects.filter(org=org, kind="total", grain="day", date=start)
    by_channel = {(r.source, r.campaign): r for r in rows}
    assert (contact.original_source, contact.original_campaign) == ("facebook", "vsl cold")
    assert by_channel[("facebook", "vsl cold")].leads == 1
    assert by_channel[("facebook", "vsl cold")].ad_spend > 0


def _migration():
    return importlib.import_module("apps.kpis.migrations.0007_normalize_channels")


def test_migration_merges_spellings_by_summing_and_rebuilds_rollups(team_a):
    org = team_a.org
    day = date(2026, 3, 2)
    first = AdSpendFactory(org=org, date=day, source="x", amount=Decimal("100.00"))
    second = AdSpendFactory(org=org, date=day, source="y", amount=Decimal("50.00"))
    # Rows as they were stored before normalisation existed.
    AdSpend.objects.filter(pk=first.pk).update(source="Facebook/VSL-Cold", source_raw="")
    AdSpend.objects.filter(pk=second.pk).update(source=" facebook/vsl-cold")
    contact = lead(org, day, original_source="Facebook/VSL-Cold", original_campaign=" Webinar")

    _migration().forwards(django_apps, None)

    spend = AdSpend.objects.get()
    assert spend.pk == first.pk
    assert (spend.source, spend.source_raw, spend.amount) == (
        "facebook/vsl-cold",
        "Facebook/VSL-Cold",
        Decimal("150.00"),
    )
    contact.refresh_from_db()
    assert (contact.original_source, contact.original_campaign) == ("facebook/vsl-cold", "webinar")
    row = DailyRollup.objects.get(
        org=org, kind="total", grain="day", date=day, source="facebook/vsl-cold", campaign=""
    )
    assert row.ad_spend == Decimal("150.00")


def test_migration_refuses_to_sum_spellings_in_different_currencies(team_a):
    day = date(2026, 3, 2)
    first = AdSpendFactory(org=team_a.org, date=day, source="x")
    second = AdSpendFactory(org=team_a.org, date=day, source="y", currency="EUR")
    AdSpend.objects.filter(pk=first.pk).update(source="Facebook")
    AdSpend.objects.filter(pk=second.pk).update(source="facebook")

    with pytest.raises(RuntimeError, match=f"#{first.pk} 100.00 USD, #{second.pk} 100.00 EUR"):
        _migration().forwards(django_apps, None)


def test_admin_list_says_which_older_rows_no_figure_counts(team_a, login):
    AdSpendFactory(org=team_a.org, source="facebook", currency="USD")
    AdSpendFactory(org=team_a.org, source="youtube", currency="EUR")

    html = login(team_a.owner).get(reverse("admin:kpis_adspend_changelist")).content.decode()

    assert html.count("no: not in USD") == 1
