"""The dashboard and summary.json: roles, reps scoped to themselves, errors, CSV = tables."""

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.kpis.models import AdSpend
from apps.kpis.services import rollup_rebuild
from tests.apps.csv_read import csv_text
from tests.apps.kpis.helpers import call, lead, paid, past_month, won

pytestmark = pytest.mark.django_db


@pytest.fixture
def month_data(team_a, team_b):
    """Org A: two closers with different numbers. Org B: a call that must never show in A."""
    start, end = past_month()
    org = team_a.org
    for i, member in enumerate((team_a.closer_member, team_a.other_closer_member)):
        for j in range(2 + i):
            contact = lead(org, start + timedelta(days=j), original_source=f"src{i}")
            call(org, contact, start + timedelta(days=j), "triage", setter=team_a.setter_member)
            meeting = call(
                org,
                contact,
                start + timedelta(days=j + 1),
                "solution",
                closer=member,
                setter=team_a.setter_member,
            )
            won(
                org,
                contact,
                start + timedelta(days=j + 1),
                1000 * (i + 1),
                meeting=meeting,
                closer=member,
                setter=team_a.setter_member,
            )
            paid(
                org,
                contact,
                start + timedelta(days=j + 2),
                500 * (i + 1),
                closer=member,
                setter=team_a.setter_member,
            )
    outsider_contact = lead(team_b.org, start)
    call(team_b.org, outsider_contact, start, "solution", closer=team_b.closer_member)
    rollup_rebuild(org=org)
    rollup_rebuild(org=team_b.org)
    return start, end


def _summary(client, start, end, **params):
    return client.get(
        reverse("kpis:summary"), {"start": start.isoformat(), "end": end.isoformat(), **params}
    )


def test_summary_json_for_a_manager(client, team_a, month_data):
    start, end = month_data
    client.force_login(team_a.manager)
    data = _summary(client, start, end).json()
    assert data["period"] == {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "timezone": "UTC",
        "currency": "USD",
    }
    assert data["base"]["solution_booked"] == 5
    assert data["base"]["leads"] == 5
    only_one = _summary(client, start, end, closer=team_a.other_closer_member.email).json()
    assert only_one["base"]["solution_booked"] == 3
    assert only_one["base"]["leads"] is None and only_one["kpis"]["cpl"] is None
    by_source = _summary(client, start, end, source="src0").json()
    assert by_source["base"]["leads"] == 2


def test_a_closer_asking_for_another_closer_gets_only_their_own(client, team_a, month_data):
    start, end = month_data
    client.force_login(team_a.closer)
    data = _summary(client, start, end, closer=team_a.other_closer_member.email).json()
    assert data["filters"]["closer"] == team_a.closer.email
    assert data["base"]["solution_booked"] == 2
    assert data["base"]["revenue"] == "2000.00"
    assert data["base"]["leads"] is None
    page = client.get(
        reverse("kpis:dashboard"),
        {"month": f"{start:%Y-%m}", "closer": team_a.other_closer_member.pk},
    )
    body = page.content.decode()
    assert team_a.other_closer_member.name not in body
    assert "2,000.00" in body and "4,000.00" not in body


def test_a_setter_sees_only_calls_they_set(client, team_a, month_data):
    start, end = month_data
    client.force_login(team_a.setter)
    data = _summary(client, start, end).json()
    assert data["filters"]["setter"] == team_a.setter.email
    assert data["base"]["triage_booked"] == 5


def test_bad_dates_answer_400_naming_the_parameter(client, team_a):
    client.force_login(team_a.manager)
    response = client.get(reverse("kpis:summary"), {"start": "2026-13-01", "end": "2026-01-31"})
    assert response.status_code == 400
    assert response.json()["parameter"] == "start"
    response = client.get(reverse("kpis:summary"), {"start": "2026-01-01", "end": "soon"})
    assert (response.status_code, response.json()["parameter"]) == (400, "end")
    response = client.get(reverse("kpis:summary"), {"start": "2026-02-01", "end": "2026-01-01"})
    assert (response.status_code, response.json()["parameter"]) == (400, "end")
    response = client.get(
        reverse("kpis:summary"),
        {"start": "2026-01-01", "end": "2026-01-31", "closer": "nobody@x.example"},
    )
    assert (response.status_code, response.json()["parameter"]) == (400, "closer")


def test_wrong_methods_get_405(client, team_a):
    client.force_login(team_a.manager)
    for name in ("kpis:dashboard", "kpis:home", "kpis:summary"):
        assert client.post(reverse(name)).status_code == 405
        assert client.delete(reverse(name)).status_code == 405


def test_an_outsider_sees_only_their_own_org(client, team_b, month_data):
    start, end = month_data
    client.force_login(team_b.owner)
    data = _summary(client, start, end, closer=team_b.closer_member.email).json()
    assert data["base"]["solution_booked"] == 1
    # Org A's closer is unknown in org B: no numbers, just an error.
    response = _summary(client, start, end, closer="closer@org-a.example")
    assert response.status_code == 400
    page = client.get(reverse("kpis:dashboard"), {"month": f"{start:%Y-%m}"}).content.decode()
    assert "org-a" not in page.lower() and "Org A" not in page


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for name in ("kpis:dashboard", "kpis:summary"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_viewer_reads_the_dashboard_and_can_change_nothing(client, team_a, month_data):
    start, _ = month_data
    client.force_login(team_a.viewer)
    page = client.get(reverse("kpis:dashboard"), {"month": f"{start:%Y-%m}"})
    assert page.status_code == 200
    body = page.content.decode()
    assert 'method="post"' not in body.split("<main>")[1]  # no write form on the page
    assert client.post(reverse("kpis:dashboard")).status_code == 405


def test_dashboard_htmx_returns_the_body_partial(client, team_a, month_data):
    start, _ = month_data
    client.force_login(team_a.manager)
    response = client.get(
        reverse("kpis:dashboard"), {"month": f"{start:%Y-%m}"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="dashboard-body"')
    assert "<html" not in body
    assert "HX-Request" in response["Vary"]
    # Cards carry their formula on hover, and "—" where a ratio has no value.
    assert 'title="deals_won / solution_attended"' in body


def _html_tables(body: str) -> dict[str, list[list[str]]]:
    tables = {}
    for name, inner in re.findall(r'<table data-table="(\w+)">(.*?)</table>', body, re.S):
        rows = []
        for row in re.findall(r"<tr>(.*?)</tr>", inner, re.S):
            cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
            rows.append([unescape(re.sub(r"<[^>]+>|[↑↓]", "", c)).strip() for c in cells])
        tables[name] = rows
    return tables


def test_every_csv_download_equals_its_table_on_screen(client, team_a, month_data):
    start, _ = month_data
    client.force_login(team_a.manager)
    params = {"month": f"{start:%Y-%m}", "closers_sort": "name"}
    body = client.get(reverse("kpis:dashboard"), params).content.decode()
    tables = _html_tables(body)
    assert set(tables) == {
        "funnel", "trend", "closers", "setters", "sources", "activity", "utilization",
    }  # fmt: skip
    for name, rows in tables.items():
        response = client.get(reverse("kpis:dashboard"), {**params, "format": "csv", "table": name})
        assert response["Content-Type"].startswith("text/csv")
        downloaded = list(csv.reader(io.StringIO(csv_text(response))))
        # An empty table says so on screen; its download is the header alone.
        assert downloaded == [row for row in rows if row != ["Nothing in this period."]], name
        assert f"table={name}" in body  # the page links to it
    closers = tables["closers"]
    assert [row[0] for row in closers[1:]] == sorted(row[0] for row in closers[1:])


def test_leaderboards_sort_by_any_column(client, team_a, month_data):
    start, _ = month_data
    client.force_login(team_a.manager)
    body = client.get(
        reverse("kpis:dashboard"), {"month": f"{start:%Y-%m}", "closers_sort": "-cash_collected"}
    ).content.decode()
    closers = _html_tables(body)["closers"]
    assert closers[1][0] == team_a.other_closer_member.name
    body = client.get(
        reverse("kpis:dashboard"), {"month": f"{start:%Y-%m}", "closers_sort": "cash_collected"}
    ).content.decode()
    assert _html_tables(body)["closers"][1][0] == team_a.closer_member.name


def test_kpis_command_prints_the_same_json(client, team_a, month_data, capsys):
    import json

    start, end = month_data
    call_command(
        "kpis",
        team_a.org.slug,
        "--start",
        start.isoformat(),
        "--end",
        end.isoformat(),
        "--closer",
        team_a.closer_member.email,
    )
    printed = json.loads(capsys.readouterr().out)
    client.force_login(team_a.manager)
    assert printed == _summary(client, start, end, closer=team_a.closer_member.email).json()


def test_import_ad_spend_reports_every_bad_line_and_imports_nothing(team_a, tmp_path, capsys):
    from django.core.management.base import CommandError

    path = tmp_path / "spend.csv"
    path.write_text(
        "date,month,source,campaign,amount\n"
        "2026-01-03,,facebook,webinar,120.50\n"
        "2026-01-32,,facebook,webinar,10\n"
        ",2026-01,google,brand,lots\n"
        "2026-01-03,,facebook,webinar,99\n"
        ",,google,brand,5\n"
    )
    with pytest.raises(CommandError, match="4 error"):
        call_command("import_ad_spend", team_a.org.slug, str(path))
    err = capsys.readouterr().err
    assert "line 3:" in err and "line 4:" in err and "line 5:" in err and "line 6:" in err
    assert "line 2:" not in err
    assert not AdSpend.objects.filter(org=team_a.org).exists()

    path.write_text("month,source,campaign,amount\n2026-02,google,brand,2800\n")
    call_command("import_ad_spend", team_a.org.slug, str(path))
    spend = AdSpend.objects.get(org=team_a.org)
    assert (spend.granularity, str(spend.date), spend.amount) == ("month", "2026-02-01", 2800)


def test_a_foreign_or_bad_filter_is_ignored_not_obeyed(client, team_a, team_b, month_data):
    start, _ = month_data
    client.force_login(team_a.manager)
    response = client.get(
        reverse("kpis:dashboard"), {"month": f"{start:%Y-%m}", "closer": team_b.closer_member.pk}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-period="{start}' in body  # the month still applies
    # Org B's closer is not a choice in org A: the whole org's numbers show (5 deals).
    assert re.search(r'data-kpi="deals_won"[^>]*><h2>[^<]*</h2><p>5</p>', body)
    assert "closer:" in body.lower()  # the form says what was wrong
