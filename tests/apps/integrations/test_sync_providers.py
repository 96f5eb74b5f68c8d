"""Close, Stripe and Whop syncs through ingest_record: one row whether a record came by webhook,
by sync, or both."""

from __future__ import annotations

import pytest
import responses

from apps.contacts.models import Contact
from apps.deals.models import CallActivity, Deal
from apps.integrations import ingest
from apps.integrations.models import SyncRun
from apps.integrations.services import credential_set
from apps.integrations.sync import sync_run
from apps.orgs.models import TeamMember
from apps.payments.models import Payment
from tests.attribution.sources.conftest import load_fixture

CLOSE = "https://api.close.com/api/v1"


def unpaced():
    return {"rate_per_second": 1e9, "sleep": lambda seconds: None}


def webhook(org, provider: str, envelope: dict):
    record = ingest.parse_payload(org=org, provider=provider, envelope=envelope)
    return ingest.ingest_record(org=org, record=record, via="webhook")


def listing(items):
    return {"data": items, "has_more": False}


@pytest.mark.django_db
def test_close_sync_meets_the_webhook_rows_and_links_close_users(team_a):
    org = team_a.org
    credential_set(org=org, provider="close", name="api_key", value="api_close", actor=None)
    opportunity_envelope = load_fixture("close/opportunity.updated")
    webhook(org, "close", opportunity_envelope)
    assert Deal.objects.for_org(org).count() == 1

    contact = load_fixture("close/contact.created")["event"]["data"]
    lead = {
        "id": contact["lead_id"],
        "display_name": "Marsh Holdings",
        "status_label": "Qualified",
        "contacts": [contact],
        "date_created": "2026-03-02T16:00:00.000000+00:00",
        "date_updated": "2026-03-02T16:00:00.000000+00:00",
    }
    opportunity = {
        **opportunity_envelope["event"]["data"],
        "date_created": "2026-03-03T10:00:00+00:00",
        "date_updated": "2026-03-07T16:00:00+00:00",
    }
    call = load_fixture("close/activity.call.created")["event"]["data"]
    users = [
        {"id": "user_dana_closer", "email": team_a.closer.email, "first_name": "Dana"},
        {"id": "user_new", "email": "new.rep@org-a.example", "first_name": "New", "last_name": "Rep"},
    ]  # fmt: skip
    with responses.RequestsMock() as rsps:
        rsps.get(f"{CLOSE}/user/", json=listing(users))
        rsps.get(f"{CLOSE}/lead/", json=listing([lead]))
        rsps.get(f"{CLOSE}/opportunity/", json=listing([opportunity]))
        rsps.get(f"{CLOSE}/activity/call/", json=listing([call]))
        run = sync_run(org=org, provider="close", client_options=unpaced())

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.fetched == 3 and run.failed == 0
    deals = Deal.objects.for_org(org)
    assert deals.count() == 1 and deals.get().external_id == opportunity["id"]
    assert CallActivity.objects.for_org(org).filter(external_id=call["id"]).count() == 1
    # The lead's person and the opportunity's are one contact.
    assert (
        Contact.objects.for_org(org).filter(primary_email=contact["emails"][0]["email"]).count()
        == 1
    )
    assert TeamMember.objects.get(pk=team_a.closer_member.pk).external_ids["close"] == (
        "user_dana_closer"
    )
    assert TeamMember.objects.for_org(org).get(email="new.rep@org-a.example").name == "New Rep"

    # The webhook delivered again after the sync: still one row.
    assert webhook(org, "close", opportunity_envelope) in ("unchanged", "updated")
    assert Deal.objects.for_org(org).count() == 1


@pytest.mark.django_db
def test_stripe_charge_by_webhook_and_by_sync_is_one_payment(team_a):
    org = team_a.org
    credential_set(org=org, provider="stripe", name="api_key", value="sk_test_x", actor=None)
    envelope = load_fixture("stripe/charge.succeeded")
    webhook(org, "stripe", envelope)
    assert Payment.objects.for_org(org).count() == 1
    failed_charge = {**envelope["data"]["object"], "id": "ch_failed", "status": "failed",
                     "paid": False, "captured": False, "payment_intent": "pi_failed"}  # fmt: skip

    with responses.RequestsMock() as rsps:
        rsps.get(
            "https://api.stripe.com/v1/charges",
            json={"data": [envelope["data"]["object"], failed_charge], "has_more": False},
        )
        rsps.get("https://api.stripe.com/v1/refunds", json={"data": [], "has_more": False})
        run = sync_run(org=org, provider="stripe", client_options=unpaced())

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.fetched == 2 and run.created == 0 and run.failed == 0
    assert Payment.objects.for_org(org).count() == 1


@pytest.mark.django_db
def test_whop_payment_by_sync_then_by_webhook_is_one_payment(team_a):
    org = team_a.org
    credential_set(org=org, provider="whop", name="api_key", value="whop_key", actor=None)
    envelope = load_fixture("whop/payment.succeeded")

    with responses.RequestsMock() as rsps:
        rsps.get(
            "https://api.whop.com/api/v1/payments",
            json={"data": [envelope["data"]], "page_info": {"end_cursor": None}},
        )
        run = sync_run(org=org, provider="whop", client_options=unpaced())
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.created == 1

    webhook(org, "whop", envelope)
    payments = Payment.objects.for_org(org)
    assert payments.count() == 1
    assert payments.get().external_id == envelope["data"]["id"]


@pytest.mark.django_db
def test_an_item_that_cannot_be_parsed_fails_alone_and_says_why(team_a):
    """Items are parsed ahead, on the prefetch thread: one the parser refuses is still counted
    as failed with its reason, and the rest of its page is ingested."""
    org = team_a.org
    credential_set(org=org, provider="close", name="api_key", value="api_close", actor=None)
    good = {
        **load_fixture("close/opportunity.updated")["event"]["data"],
        "date_created": "2026-03-03T10:00:00+00:00",
        "date_updated": "2026-03-07T16:00:00+00:00",
    }
    broken = {"id": "oppo_broken", "date_created": "2026-03-04T10:00:00+00:00"}
    with responses.RequestsMock() as rsps:
        rsps.get(f"{CLOSE}/user/", json=listing([]))
        rsps.get(f"{CLOSE}/lead/", json=listing([]))
        rsps.get(f"{CLOSE}/opportunity/", json=listing([broken, good]))
        rsps.get(f"{CLOSE}/activity/call/", json=listing([]))
        run = sync_run(org=org, provider="close", client_options=unpaced())

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.fetched, run.created, run.failed) == (2, 1, 1)
    assert Deal.objects.for_org(org).get().external_id == good["id"]
    assert run.progress["errors"] == [
        "opportunities oppo_broken: close.opportunity.lead_id is missing"
    ]
