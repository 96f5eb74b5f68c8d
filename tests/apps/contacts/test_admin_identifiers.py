"""Identifiers typed in admin are stored as the resolver writes them, or refused."""

import pytest
from django.urls import reverse

from apps.contacts.models import Identifier
from apps.contacts.services import contact_resolve
from tests.apps.contacts.helpers import person

pytestmark = pytest.mark.django_db


@pytest.fixture
def phone(team_a):
    contact_resolve(
        org=team_a.org,
        observation=person(
            email="ann.lee@onefold.io", phone="+14155550100", first="Ann", last="Lee"
        ),
    )
    return Identifier.objects.get(org=team_a.org, kind="phone")


def post(client, identifier, **changes):
    data = {
        "org": identifier.org_id,
        "contact": identifier.contact_id,
        "kind": identifier.kind,
        "value": identifier.value,
        "raw": identifier.raw,
        "source": identifier.source,
        **changes,
    }
    url = reverse("admin:contacts_identifier_change", args=[identifier.pk])
    return client.post(url, data)


def test_a_phone_typed_as_written_is_stored_in_e164_and_then_found(client, team_a, phone):
    client.force_login(team_a.owner)
    response = post(client, phone, value="(415) 555-0199")
    assert response.status_code == 302
    phone.refresh_from_db()
    assert phone.value == "+14155550199"
    # The resolver finds the contact by the number written any other way.
    again = contact_resolve(
        org=team_a.org, observation=person(phone="415.555.0199", first="Ann", last="Lee")
    )
    assert again.contact.pk == phone.contact_id and not again.created


def test_an_email_is_stored_lowercased(client, team_a, phone):
    email = Identifier.objects.get(org=team_a.org, kind="email")
    client.force_login(team_a.owner)
    assert post(client, email, value="  Ann.Lee@OneFold.IO ").status_code == 302
    email.refresh_from_db()
    assert email.value == "ann.lee@onefold.io"


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("phone", "call me maybe", "Not a valid phone number"),
        ("email", "ann at onefold", "Not an email address"),
    ],
)
def test_a_value_that_is_not_one_is_refused_and_nothing_changes(
    client, team_a, phone, kind, value, message
):
    client.force_login(team_a.owner)
    response = post(client, phone, kind=kind, value=value)
    assert response.status_code == 200
    assert message in response.content.decode()
    phone.refresh_from_db()
    assert (phone.kind, phone.value) == ("phone", "+14155550100")
