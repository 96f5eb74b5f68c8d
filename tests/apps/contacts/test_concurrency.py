"""Fifty simultaneous resolves of one new person make one contact (PostgreSQL, real threads)."""

import threading

import pytest
from django.db import connection

from apps.contacts.models import Contact, Identifier
from apps.contacts.services import contact_resolve
from tests.apps.contacts.helpers import person


@pytest.mark.django_db(transaction=True)
# Fifty connections: never beside the other fifty-connection tests (see the fixture).
@pytest.mark.usefixtures("connections_released")
def test_fifty_parallel_resolves_of_one_new_person_make_one_contact(team_a):
    barrier = threading.Barrier(50)
    results, errors = [], []

    def work(i: int) -> None:
        try:
            barrier.wait()
            # Each worker sees the person through another source and spelling.
            observation = person(
                ["typeform", "calendly", "close", "stripe", "whop"][i % 5],
                email=["Nora.Quinn@Brightside.co", " nora.quinn@brightside.co "][i % 2],
                phone=["+1 (415) 555-0188", "4155550188"][i % 2] if i % 3 else None,
                first="Nora",
                last="Quinn",
                days=i % 4,
            )
            results.append(contact_resolve(org=team_a.org, observation=observation).contact.pk)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 50
    assert len(set(results)) == 1
    assert Contact.objects.filter(org=team_a.org).count() == 1
    assert Identifier.objects.filter(org=team_a.org, kind="email").count() == 1
    assert Identifier.objects.filter(org=team_a.org, kind="phone").count() == 1
