"""Acceptance 3: the same delivery fifty times at once leaves one inbox row and one meeting/payment.

Real transactions (transaction=True): each thread has its own database connection, commits, and
its on_commit enqueue runs the task (eagerly, in that thread), so receiving and processing both
race exactly as gunicorn workers and Celery workers would.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from apps.contacts.models import Contact
from apps.integrations.ingest import ingest_record, parse_payload
from apps.integrations.models import WebhookEvent
from apps.meetings.models import Meeting
from apps.payments.models import Payment
from tests.apps.integrations.webhook_support import encode, set_secrets, sign, url
from tests.attribution.sources.conftest import load_fixture
from tests.factories import OrganizationFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Fifty connections per test: one such test at a time, across workers (see the fixture).
    pytest.mark.usefixtures("connections_released"),
]

N = 50


@pytest.fixture
def org():
    org = OrganizationFactory(slug="race-org")
    set_secrets(org)
    return org


def _race(n: int, work):
    barrier = threading.Barrier(n)

    def run(i):
        try:
            barrier.wait(timeout=30)
            return work(i)
        finally:
            connection.close()  # each thread's own connection

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def _post_all(org, provider: str, bodies: list[bytes]):
    headers = [sign(provider, body) for body in bodies]

    def post(i):
        response = Client().post(
            url(provider, org.slug),
            data=bodies[i],
            content_type="application/json",
            headers=headers[i],
        )
        return response.status_code, response.json().get("duplicate", False)

    return _race(len(bodies), post)


def test_fifty_identical_calendly_deliveries_make_one_row_and_one_meeting(org):
    body = encode(load_fixture("calendly/invitee.created"))
    answers = _post_all(org, "calendly", [body] * N)
    assert Counter(answers) == {(200, False): 1, (200, True): N - 1}
    assert WebhookEvent.objects.filter(org=org).count() == 1
    assert WebhookEvent.objects.get(org=org).status == WebhookEvent.Status.PROCESSED
    assert Meeting.objects.filter(org=org).count() == 1
    assert Contact.objects.filter(org=org).count() == 1


def test_fifty_identical_stripe_deliveries_make_one_row_and_one_payment(org):
    body = encode(load_fixture("stripe/charge.succeeded"))
    answers = _post_all(org, "stripe", [body] * N)
    assert Counter(answers) == {(200, False): 1, (200, True): N - 1}
    assert WebhookEvent.objects.filter(org=org).count() == 1
    assert Payment.objects.filter(org=org).count() == 1


def test_fifty_different_events_of_one_purchase_at_once_make_one_payment(org):
    """Distinct event ids (so the inbox does not dedupe them): the upserts must."""
    bodies = []
    for i in range(N):
        name = ("stripe/payment_intent.succeeded", "stripe/charge.succeeded")[i % 2]
        payload = load_fixture(name)
        payload["id"] = f"evt_race_{i}"
        bodies.append(encode(payload))
    answers = _post_all(org, "stripe", bodies)
    assert Counter(answers) == {(200, False): N}
    assert WebhookEvent.objects.filter(org=org, status="processed").count() == N
    assert Payment.objects.filter(org=org).count() == 1
    assert Contact.objects.filter(org=org).count() == 1


def test_fifty_concurrent_ingestions_of_one_booking_make_one_meeting(org):
    """The webhook and the sync (or two syncs) racing on the same invitee."""
    record = parse_payload(
        org=org, provider="calendly", envelope=load_fixture("calendly/invitee.created")
    )
    outcomes = _race(N, lambda i: ingest_record(org=org, record=record, via="sync"))
    assert Counter(outcomes)["created"] == 1
    assert Meeting.objects.filter(org=org).count() == 1
    assert Contact.objects.filter(org=org).count() == 1
