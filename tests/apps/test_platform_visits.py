"""Platform superusers: any org from the switcher, read-only unless they are a member."""

import pytest
from django.urls import reverse

from apps.orgs.models import Invitation, Role
from apps.orgs.services import membership_set_role
from tests.conftest import give_totp
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    user = UserFactory(email="platform@example.com", is_staff=True, is_superuser=True)
    give_totp(user)
    return user


def test_a_superuser_outside_every_org_reads_one_and_may_switch_to_any(
    client, team_a, team_b, superuser
):
    ContactFactory(org=team_a.org, first_name="Annika")
    ContactFactory(org=team_b.org, first_name="Bertil")
    client.force_login(superuser)

    html = client.get(reverse("kpis:dashboard")).content.decode()
    assert "not in an organisation" not in html
    assert "platform admin, read-only" in html
    assert f'<option value="{team_a.org.pk}"' in html and f'<option value="{team_b.org.pk}"' in html

    assert client.post(reverse("orgs:switch"), {"org": team_b.org.pk}).status_code == 302
    html = client.get(reverse("contacts:list")).content.decode()
    assert "Bertil" in html and "Annika" not in html


def test_a_visiting_superuser_changes_nothing_and_is_told_why(client, team_a, superuser):
    client.force_login(superuser)
    client.post(reverse("orgs:switch"), {"org": team_a.org.pk})

    response = client.post(reverse("orgs:invite"), {"email": "x@example.com", "role": "closer"})

    assert response.status_code == 403
    assert "viewing Org A as a platform admin, read-only" in response.content.decode()
    assert not Invitation.objects.exists()
    # Pages that change nothing still open, and so does Django admin.
    assert client.get(reverse("orgs:settings")).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_superuser_who_joined_the_org_writes_as_its_member(client, team_a, superuser):
    membership_set_role(org=team_a.org, user=superuser, role=Role.ADMIN, actor=None)
    client.force_login(superuser)

    client.post(reverse("orgs:invite"), {"email": "x@example.com", "role": "closer"})

    assert Invitation.objects.filter(org=team_a.org, email="x@example.com").exists()


def test_a_member_cannot_switch_to_an_org_they_are_not_in(client, team_a, team_b):
    client.force_login(team_a.manager)
    assert client.post(reverse("orgs:switch"), {"org": team_b.org.pk}).status_code == 404
