"""Campaign days from Meta Ads Manager, Google Ads and the generic CSV: all or nothing, every
bad line listed with its number (as the ad spend import)."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.marketing.models import Campaign, CampaignDay
from apps.marketing.services import CampaignDayImportError, campaign_days_import
from apps.orgs.models import AuditLog

pytestmark = pytest.mark.django_db

META = """Reporting starts,Reporting ends,Campaign name,Amount spent (USD),Impressions,Link clicks,Results,Reach
2026-11-01,2026-11-01,Spring VSL,120.50,"10,400",210,4,9000
2026-11-02,2026-11-02,Spring VSL,99.10,9800,180,,8800
"""
GOOGLE = """Campaign performance report
"November 1, 2026 - November 30, 2026"
Day,Campaign,Cost,Impr.,Clicks,Conversions,Currency code
2026-11-01,Brand Search,"1,010.00","2,000",300,3.50,USD
"Nov 2, 2026",Brand Search,12.00,--,--,0.00,USD
Total: Account,,"1,022.00","2,000",300,3.50,
"""
GENERIC = """date,channel,campaign,spend,impressions,clicks
2026-11-01,TikTok,UGC,50,5000,20
"""


def _days(org):
    return {
        (d.campaign.channel, d.campaign.name, d.date): d
        for d in CampaignDay.objects.filter(org=org).select_related("campaign")
    }


def test_a_meta_ads_manager_export_is_imported(team_a):
    org = team_a.org
    saved = campaign_days_import(org=org, file=StringIO(META), actor=team_a.manager)
    assert len(saved) == 2
    day = _days(org)[("meta", "spring vsl", date(2026, 11, 1))]
    assert (day.spend, day.impressions, day.clicks) == (Decimal("120.50"), 10400, 210)
    assert day.platform_conversions == Decimal("4.00")
    assert AuditLog.objects.filter(org=org, action="marketing.campaign_days_import").exists()


def test_a_google_ads_export_with_its_title_lines_and_totals_is_imported(team_a):
    org = team_a.org
    campaign_days_import(org=org, file=StringIO(GOOGLE))
    days = _days(org)
    assert set(days) == {
        ("google", "brand search", date(2026, 11, 1)),
        ("google", "brand search", date(2026, 11, 2)),
    }
    first = days[("google", "brand search", date(2026, 11, 1))]
    assert (first.spend, first.impressions, first.clicks) == (Decimal("1010.00"), 2000, 300)
    assert days[("google", "brand search", date(2026, 11, 2))].impressions == 0


def test_the_generic_format_and_a_reimport_replaces_the_day(team_a):
    org = team_a.org
    campaign_days_import(org=org, file=StringIO(GENERIC))
    campaign_days_import(org=org, file=StringIO(GENERIC.replace(",50,", ",75,")))
    assert CampaignDay.objects.filter(org=org).count() == 1
    assert CampaignDay.objects.get(org=org).spend == Decimal("75")
    assert Campaign.objects.get(org=org).channel == "tiktok"


def test_bad_lines_import_nothing_and_every_one_is_listed(team_a):
    org = team_a.org
    bad = (
        "date,channel,campaign,spend,impressions,clicks\n"
        "2026-11-01,meta,a,10,100,1\n"
        "2026-13-01,meta,a,10,100,1\n"  # line 3: bad date
        "2026-11-02,meta,a,-5,100,1\n"  # line 4: negative spend
        "2026-11-01,Meta,A,3,100,1\n"  # line 5: the same day, channel and campaign as line 2
        "2026-11-03,meta,a,1,lots,1\n"  # line 6: impressions not a number
    )
    with pytest.raises(CampaignDayImportError) as caught:
        campaign_days_import(org=org, file=StringIO(bad))
    numbers = [n for n, _ in caught.value.lines]
    assert numbers == [3, 4, 5, 6]
    messages = dict(caught.value.lines)
    assert "not a date" in messages[3]
    assert "negative" in messages[4]
    assert "line 2" in messages[5]
    assert "impressions" in messages[6]
    assert not CampaignDay.objects.filter(org=org).exists()
    assert not Campaign.objects.filter(org=org).exists()


def test_unknown_columns_are_refused_before_any_line(team_a):
    org = team_a.org
    with pytest.raises(CampaignDayImportError) as caught:
        campaign_days_import(
            org=org, file=StringIO("date,channel,campaign,spend,impressions,clicks,colour\n")
        )
    assert caught.value.lines == [(1, "unknown column(s): colour")]
    with pytest.raises(CampaignDayImportError) as caught:
        campaign_days_import(org=org, file=StringIO("when,what\n2026-11-01,x\n"))
    assert "not a Meta Ads Manager or Google Ads export" in caught.value.lines[0][1]


def test_spend_in_another_currency_is_refused(team_a):
    org = team_a.org
    with pytest.raises(CampaignDayImportError) as caught:
        campaign_days_import(org=org, file=StringIO(META.replace("(USD)", "(EUR)")))
    assert "EUR" in caught.value.lines[0][1]
    assert not CampaignDay.objects.exists()


def test_the_command_lists_the_bad_lines(team_a, tmp_path):
    path = tmp_path / "days.csv"
    path.write_text("date,channel,campaign,spend,impressions,clicks\n2026-11-01,meta,a,-1,0,0\n")
    err = StringIO()
    with pytest.raises(CommandError, match="1 error"):
        call_command("import_campaign_days", team_a.org.slug, str(path), stderr=err)
    assert "line 2: spend '-1' is negative" in err.getvalue()
    path.write_text(GENERIC)
    out = StringIO()
    call_command("import_campaign_days", team_a.org.slug, str(path), stdout=out)
    assert "Imported 1 campaign day" in out.getvalue()


def test_a_manager_uploads_a_file_on_the_page(client, team_a):
    client.force_login(team_a.manager)
    upload = StringIO(GENERIC)
    upload.name = "days.csv"
    response = client.post(reverse("marketing:campaign_days_import"), {"file": upload}, follow=True)
    assert "Imported 1 campaign day" in response.content.decode()
    bad = StringIO("date,channel,campaign,spend,impressions,clicks\nnope,meta,a,1,1,1\n")
    bad.name = "bad.csv"
    response = client.post(reverse("marketing:campaign_days_import"), {"file": bad}, follow=True)
    assert "line 2: date" in response.content.decode()
    assert CampaignDay.objects.filter(org=team_a.org).count() == 1
    client.force_login(team_a.closer)
    assert client.post(reverse("marketing:campaign_days_import"), {}).status_code == 403


def test_an_admin_imports_through_the_admin(client, team_a):
    client.force_login(team_a.owner)
    url = reverse("admin:marketing_campaignday_import")
    assert client.get(url).status_code == 200
    upload = StringIO(GENERIC)
    upload.name = "days.csv"
    response = client.post(url, {"org": team_a.org.pk, "file": upload})
    assert response.status_code == 302
    assert CampaignDay.objects.filter(org=team_a.org).count() == 1
