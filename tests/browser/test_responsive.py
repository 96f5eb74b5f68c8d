"""Every page, for every role, on a phone (390 px) and a laptop (1366 px): no sideways scrolling,
no console error, no 5xx. Screenshots of each are kept as test artefacts (TEST_ARTIFACTS_DIR,
default var/test-artifacts/screens/) for a person to look at."""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from apps.api.services import (
    ConversionInput,
    api_key_create,
    conversion_record,
    workspace_create,
)
from apps.forecast.services import forecast_train
from apps.payments.services import payout_snapshot_create
from tests.factories import (
    ContactFactory,
    DealFactory,
    MeetingFactory,
    PaymentFactory,
    PostCallFormFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", "var/test-artifacts")) / "screens"
WIDTHS = {"phone": 390, "desktop": 1366}


@pytest.fixture
def pages(team_a):
    """A small org with a bit of everything, and the pages worth visiting in it."""
    org = team_a.org
    now = timezone.now()
    contact = ContactFactory(
        org=org,
        first_name="Paula",
        last_name="Longname-Hyphenated",
        original_source="facebook",
        original_campaign="a-rather-long-campaign-name-2026",
        first_seen_at=now - timedelta(days=3),
    )
    triage = MeetingFactory(
        org=org,
        contact=contact,
        call_type="triage",
        host=team_a.setter_member,
        setter=team_a.setter_member,
        scheduled_at=now - timedelta(days=2),
    )
    solution = MeetingFactory(
        org=org,
        contact=contact,
        call_type="solution",
        host=team_a.closer_member,
        closer=team_a.closer_member,
        setter=team_a.setter_member,
        scheduled_at=now - timedelta(days=1),
    )
    PostCallFormFactory(meeting=triage, lead_showed=True)
    DealFactory(
        org=org,
        contact=contact,
        status="won",
        value=Decimal("12500"),
        closer=team_a.closer_member,
        setter=team_a.setter_member,
        closed_at=now - timedelta(days=1),
    )
    PaymentFactory(
        org=org,
        contact=contact,
        amount=Decimal("2500"),
        closer=team_a.closer_member,
        setter=team_a.setter_member,
        paid_at=now - timedelta(hours=20),
    )
    partner = workspace_create(org=org, name="Partner Sales", permissions=["read", "convert"],
                               actor=team_a.owner)  # fmt: skip
    api_key_create(org=org, workspace=partner, scopes=["convert"], actor=team_a.owner)
    conversion_record(
        org=org,
        workspace=partner,
        data=ConversionInput(contact_id=contact.pk, conversion_type="sale", conversion_value=900),
    )
    DealFactory(org=org, contact=contact, status="active", closed_at=None, value=Decimal("8000"),
                closer=team_a.closer_member)  # fmt: skip
    forecast_train(org=org)  # the probability column, the weighted pipeline, /forecast/
    today = timezone.localdate(timezone=org.tzinfo)
    snapshot = payout_snapshot_create(
        org=org, start=today - timedelta(days=30), end=today, actor=team_a.owner
    )
    return {
        "dashboard": "/dashboard/",
        "calls": "/calls/",
        "call": f"/calls/{solution.pk}/",
        "pcf": f"/calls/{solution.pk}/pcf/",
        "triage-pcf": f"/calls/{triage.pk}/pcf/",
        "overdue": "/calls/overdue/",
        "call-types": "/calls/types/",
        "duplicates": "/calls/duplicates/",
        "rep": "/rep/",
        "statement": "/rep/statement/",
        "contacts": "/contacts/",
        "contact": f"/contacts/{contact.pk}/",
        "payments": "/payments/",
        "payouts": "/payments/payouts/",
        "payout": f"/payments/payouts/{snapshot.pk}/",
        "deals": "/deals/",
        "forecast": "/forecast/",
        "settings": "/settings/",
        "audit": "/settings/audit/",
        "api-keys": "/settings/api/",
        "conversions": "/conversions/",
        "attribution": "/attribution/?model=compare",
        "attribution-channels": "/attribution/channels/",
        "attribution-journeys": "/attribution/journeys/",
        "exports": "/calls/exports/",
        "traffic-types": "/dashboard/traffic-types/",
        "integrations": "/integrations/",
        "sync": "/integrations/sync/",
    }


def _people(team_a):
    superuser = UserFactory(email="platform@example.com", is_staff=True, is_superuser=True)
    return {
        "owner": team_a.owner,
        "manager": team_a.manager,
        "closer": team_a.closer,
        "setter": team_a.setter,
        "viewer": team_a.viewer,
        "superuser": superuser,
    }


@pytest.mark.parametrize("device", list(WIDTHS))
def test_every_page_fits_the_screen_for_every_role(browser, live_server, team_a, pages, device):
    width = WIDTHS[device]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for role, user in _people(team_a).items():
        client = Client()
        client.force_login(user)
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        errors = []
        page.on("console", lambda m, errors=errors: errors.append(m) if m.type == "error" else None)
        page.on("pageerror", lambda exc, errors=errors: errors.append(exc))
        for name, path in pages.items():
            errors.clear()
            response = page.goto(live_server.url + path, wait_until="load")
            status = response.status if response else 0
            where = f"{role} {name} at {width}px"
            if status >= 500 or status == 0:
                problems.append(f"{where}: HTTP {status}")
                continue
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                problems.append(f"{where}: {overflow}px wider than the screen")
            for error in errors:
                text = getattr(error, "text", None) or str(error)
                # A page a role may not open answers 403/404, which Chromium logs for the document
                # itself; that is the refusal working, not a fault of the page.
                if status in (403, 404) and "Failed to load resource" in text:
                    continue
                problems.append(f"{where}: console error {text}")
            page.screenshot(path=str(ARTIFACTS / f"{role}-{name}-{device}.png"), full_page=True)
        context.close()
    assert problems == []
