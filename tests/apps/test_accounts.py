"""Sign-in by email, password reset, invitation-only sign-up, admin sign-in through allauth."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from apps.orgs.models import Invitation, Membership, Role, TeamMember, User
from apps.orgs.services import invitation_create
from tests.conftest import PASSWORD, TOTP_SECRET, sign_in


@pytest.mark.django_db
def test_a_member_signs_in_with_email_and_password(client, team_a):
    response = client.post(
        reverse("account_login"), {"login": "MANAGER@org-a.example", "password": PASSWORD}
    )
    assert response.status_code == 302
    dashboard = client.get(reverse("kpis:dashboard"))
    assert dashboard.status_code == 200
    assert "Org A" in dashboard.content.decode()


@pytest.mark.django_db
def test_a_wrong_password_does_not_sign_in(client, team_a):
    response = client.post(
        reverse("account_login"), {"login": "manager@org-a.example", "password": "nope"}
    )
    assert response.status_code == 200
    assert client.get(reverse("kpis:dashboard")).status_code == 302


@pytest.mark.django_db
def test_password_reset_sends_a_working_link(client, team_a):
    client.post(reverse("account_reset_password"), {"email": "manager@org-a.example"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(\S+)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    response = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link,
        {"password1": "a-new-long-password-9", "password2": "a-new-long-password-9"},
    )
    assert response.status_code == 302
    assert User.objects.get(email="manager@org-a.example").check_password("a-new-long-password-9")


@pytest.mark.django_db
def test_nobody_signs_up_without_an_invitation(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "walk-in@example.com",
            "password1": "long-password-123",
            "password2": "long-password-123",
        },
    )
    assert not User.objects.filter(email="walk-in@example.com").exists()
    assert response.status_code in (200, 302)
    assert "closed" in client.get(reverse("account_signup")).content.decode().lower()


@pytest.mark.django_db
def test_an_invited_person_signs_up_and_joins_the_org_with_the_role(
    client, team_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(
            org=team_a.org, email="new.closer@example.com", role=Role.CLOSER, actor=team_a.owner
        )
    assert "new.closer@example.com" in mail.outbox[-1].to
    assert invitation.token in mail.outbox[-1].body
    client.get(reverse("orgs:invitation_accept", args=[invitation.token]))
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new.closer@example.com",
            "password1": "long-password-123",
            "password2": "long-password-123",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="new.closer@example.com")
    assert Membership.objects.get(user=user, org=team_a.org).role == Role.CLOSER
    assert TeamMember.objects.get(org=team_a.org, user=user).is_closer
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None


@pytest.mark.django_db
def test_an_invitation_cannot_be_used_for_another_address(client, team_a):
    invitation = invitation_create(
        org=team_a.org, email="invited@example.com", role=Role.VIEWER, actor=team_a.owner
    )
    client.get(reverse("orgs:invitation_accept", args=[invitation.token]))
    client.post(
        reverse("account_signup"),
        {
            "email": "someone.else@example.com",
            "password1": "long-password-123",
            "password2": "long-password-123",
        },
    )
    assert not User.objects.filter(email="someone.else@example.com").exists()


@pytest.mark.django_db
def test_only_owners_and_admins_invite(client, team_a):
    client.force_login(team_a.manager)
    response = client.post(reverse("orgs:invite"), {"email": "x@example.com", "role": "viewer"})
    assert response.status_code == 403
    assert not Invitation.objects.filter(email="x@example.com").exists()
    client.force_login(team_a.admin)
    response = client.post(reverse("orgs:invite"), {"email": "x@example.com", "role": "viewer"})
    assert response.status_code == 302
    assert Invitation.objects.filter(email="x@example.com", org=team_a.org).exists()


@pytest.mark.django_db
def test_invite_answers_405_to_get(client, team_a):
    client.force_login(team_a.owner)
    assert client.get(reverse("orgs:invite")).status_code == 405


@pytest.mark.django_db
def test_admin_sign_in_goes_through_allauth(client, team_a):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    # Owners use two-factor authentication: the password alone does not sign them in.
    sign_in(client, "owner@org-a.example", secret=TOTP_SECRET)
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_a_user_in_two_orgs_switches_between_them(client, team_a, team_b):
    from apps.orgs.services import membership_set_role

    membership_set_role(org=team_b.org, user=team_a.manager, role=Role.VIEWER, actor=None)
    client.force_login(team_a.manager)
    assert "Org A" in client.get(reverse("orgs:settings")).content.decode()
    client.post(reverse("orgs:switch"), {"org": team_b.org.pk})
    page = client.get(reverse("orgs:settings")).content.decode()
    assert "Settings · Org B" in page
    # An org the user is not in cannot be switched to.
    other = Membership.objects.exclude(org__in=[team_a.org, team_b.org]).first()
    assert other is None
    assert client.post(reverse("orgs:switch"), {"org": 999999}).status_code == 404


@pytest.mark.django_db
def test_a_viewer_cannot_change_settings(client, team_a):
    client.force_login(team_a.viewer)
    response = client.post(
        reverse("orgs:settings"),
        {
            "name": "Hijacked",
            "timezone": "UTC",
            "currency": "USD",
            "default_region": "US",
            "identifier_share_limit": 3,
        },
    )
    assert response.status_code == 403
    team_a.org.refresh_from_db()
    assert team_a.org.name != "Hijacked"


@pytest.mark.django_db
def test_an_admin_changes_settings_and_bad_input_changes_nothing(client, team_a):
    client.force_login(team_a.admin)
    data = {
        "name": "Org A",
        "timezone": "Mars/Olympus",
        "currency": "USD",
        "default_region": "US",
        "identifier_share_limit": 3,
    }
    response = client.post(reverse("orgs:settings"), data)
    assert response.status_code == 200
    assert "not a known IANA time zone" in response.content.decode()
    team_a.org.refresh_from_db()
    assert team_a.org.timezone == "UTC"
    response = client.post(reverse("orgs:settings"), {**data, "timezone": "Europe/Berlin"})
    assert response.status_code == 302
    team_a.org.refresh_from_db()
    assert team_a.org.timezone == "Europe/Berlin"
