"""Issue 17: every page works under the Content-Security-Policy, Django admin included.

The browser fixture (conftest.py) fails any test whose pages report a CSP violation; these
tests walk the pages no other browser test opens, and check that the watch itself works.
"""

import pytest
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule

from apps.orgs.models import Role
from apps.orgs.services import membership_set_role
from tests.conftest import give_totp
from tests.factories import (
    ContactFactory,
    MeetingFactory,
    MergeCandidateFactory,
    PaymentFactory,
    UserFactory,
)

PAGES = [
    "kpis:dashboard",
    "meetings:list",
    "meetings:types",
    "meetings:overdue",
    "meetings:duplicates",
    "rep:portal",
    "contacts:list",
    "payments:list",
    "payments:payouts",
    "deals:list",
    "orgs:settings",
    "integrations:page",
]
ADMIN_PAGES = [
    "admin:index",
    "admin:contacts_contact_changelist",
    "admin:meetings_meeting_changelist",
    "admin:integrations_webhookevent_changelist",
    "admin:django_celery_beat_periodictask_add",
    "admin:orgs_organization_add",
]


def _open(page, url):
    response = page.goto(url)
    assert response.status == 200, url
    page.wait_for_load_state("networkidle")  # htmx's hx-trigger="load" fragments too


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_page_of_the_app_runs_under_the_policy(live_server, team_a, team_b, signed_in):
    contact = ContactFactory(org=team_a.org, first_name="Cora")
    meeting = MeetingFactory(org=team_a.org, contact=contact, closer=team_a.closer_member)
    PaymentFactory(org=team_a.org, contact=contact)
    membership_set_role(org=team_b.org, user=team_a.owner, role=Role.VIEWER, actor=None)
    page = signed_in(team_a.owner)

    for name in PAGES:
        _open(page, live_server.url + reverse(name))
    _open(page, live_server.url + reverse("kpis:dashboard"))
    page.wait_for_function("() => document.getElementById('chart-funnel').data !== undefined")
    page.hover("#chart-funnel")  # plotly's hover layer (its mode bar is off)
    page.wait_for_selector("#chart-funnel .hoverlayer")
    _open(page, live_server.url + reverse("contacts:detail", args=[contact.pk]))
    _open(page, live_server.url + reverse("meetings:detail", args=[meeting.pk]))

    # The org switcher submits on change from app.js (no inline handler).
    with page.expect_navigation(url=live_server.url + reverse("kpis:dashboard")):
        page.select_option("#org-switch", str(team_b.org.pk))
    page.wait_for_load_state("networkidle")
    assert page.locator(".org-switch option[selected]").inner_text() == team_b.org.name


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_django_admin_runs_under_the_policy(live_server, team_a, signed_in):
    superuser = UserFactory(email="root@platform.example", is_staff=True, is_superuser=True)
    give_totp(superuser)  # two-factor is required of superusers before the admin
    contact = ContactFactory(org=team_a.org)
    meeting = MeetingFactory(org=team_a.org, contact=contact)
    candidate = MergeCandidateFactory(org=team_a.org)
    crontab = CrontabSchedule.objects.create(minute="0", hour="2")
    page = signed_in(superuser)

    for name in ADMIN_PAGES:
        _open(page, live_server.url + reverse(name))
    _open(page, live_server.url + reverse("admin:contacts_contact_change", args=[contact.pk]))
    _open(page, live_server.url + reverse("admin:meetings_meeting_change", args=[meeting.pk]))
    _open(
        page, live_server.url + reverse("admin:contacts_mergecandidate_change", args=[candidate.pk])
    )
    # The periodic task form's crontab reading, moved out of django-celery-beat's inline script.
    _open(page, live_server.url + reverse("admin:django_celery_beat_periodictask_add"))
    page.select_option("#id_crontab", str(crontab.pk))
    assert "Translation:" in page.locator(".field-crontab .help").inner_text()
    # The admin's own scripts run: the changelist's select-all box ticks every row.
    _open(page, live_server.url + reverse("admin:contacts_contact_changelist"))
    page.check("#action-toggle")
    assert page.locator("input.action-select:checked").count() >= 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_sign_in_pages_run_under_the_policy(live_server, browser, team_a):
    page = browser.new_page()
    _open(page, live_server.url + reverse("account_login"))
    _open(page, live_server.url + reverse("account_reset_password"))
    page.close()


@pytest.mark.browser
def test_the_watch_reports_a_violation_in_report_only_mode(browser, csp_violations):
    page = browser.new_page()
    page.route(
        "http://csp-probe.test/",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html",
            headers={"Content-Security-Policy-Report-Only": "script-src 'none'"},
            body="<!doctype html><p>probe</p><script>document.title = 'ran';</script>",
        ),
    )
    page.goto("http://csp-probe.test/")
    page.wait_for_function("() => document.title === 'ran'")  # report-only: it still runs
    page.wait_for_timeout(200)  # the report is queued after the script
    found = list(csp_violations)
    csp_violations.clear()  # provoked on purpose: must not fail this test's teardown
    assert any(v.startswith("report script-src-elem blocked inline") for v in found), found
    page.close()
