"""Acceptance 2: one conversion posted fifty times at once with one Idempotency-Key makes one row
(real threads, real PostgreSQL, each request on its own connection)."""

import threading

import pytest
from django.db import connection
from django.test import Client

from apps.api.models import Activity, ContactConversion, Conversion, ConversionRollup
from apps.contacts.models import Contact, Touchpoint
from tests.apps.api.helpers import workspace_key


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("connections_released")
@pytest.mark.parametrize("by", ["contact_id", "email"])
def test_fifty_concurrent_posts_with_one_idempotency_key_make_one_conversion(team_a, by):
    _, raw = workspace_key(team_a)
    contact = Contact.objects.create(org=team_a.org, first_name="Nora")
    person = {"contact_id": contact.pk} if by == "contact_id" else {"email": "nora@brightside.co"}
    body = {**person, "conversion_type": "sale", "conversion_value": 99.5}
    barrier = threading.Barrier(50)
    answers, errors = [], []

    def work():
        try:
            client = Client()
            barrier.wait()
            response = client.post(
                "/api/v1/conversions",
                body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": "order-123"},
            )
            answers.append((response.status_code, response.json()))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * 49 + [201], statuses
    assert len({str(body) for _, body in answers}) == 1  # every replay is the same body
    assert Conversion.objects.count() == 1
    assert Touchpoint.objects.filter(kind="conversion").count() == 1
    assert ConversionRollup.objects.get().count == 1
    assert ContactConversion.objects.count() == 1
    assert Activity.objects.count() == 1
    assert Contact.objects.filter(org=team_a.org).count() in ((1,) if by == "contact_id" else (2,))
