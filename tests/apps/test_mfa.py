"""Two-factor authentication: required of owners, admins and superusers on the sensitive pages,
asked at sign-in once set up, optional for everyone else, and every reset audited."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.contrib.messages import get_messages
from django.urls import reverse

from apps.orgs import crypto
from apps.orgs.models import AuditLog, Membership, User
from tests.conftest import PASSWORD, TOTP_SECRET, give_totp, sign_in, totp_code
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SETUP = reverse("mfa_activate_totp")


def _without_mfa(user: User) -> User:
    Authenticator.objects.filter(user=user).delete()
    return user


@pytest.mark.parametrize("url", ["/integrations/", "/admin/", "/settings/", "/payments/payouts/"])
def test_an_owner_without_mfa_is_sent_to_set_it_up(client, team_a, url):
    client.force_login(_without_mfa(team_a.owner))
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == SETUP
    assert "two-factor" in " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_an_admin_and_a_superuser_without_mfa_are_sent_to_set_it_up(client, team_a):
    client.force_login(_without_mfa(team_a.admin))
    assert client.get("/integrations/")["Location"] == SETUP
    superuser = User.objects.create_superuser(email="root@platform.example", password=PASSWORD)
    client.force_login(superuser)
    assert client.get("/admin/")["Location"] == SETUP


def test_a_closer_or_manager_is_not_forced_but_may_set_it_up(client, team_a):
    client.force_login(team_a.closer)
    assert client.get("/settings/").status_code == 200
    assert client.get(reverse("mfa_index")).status_code == 200
    client.force_login(team_a.manager)
    assert client.get("/payments/payouts/").status_code == 200


def test_pages_outside_the_list_stay_open_to_an_owner_without_mfa(client, team_a):
    client.force_login(_without_mfa(team_a.owner))
    assert client.get(reverse("kpis:dashboard")).status_code == 200


def test_with_a_device_sign_in_asks_for_the_code(client, team_a):
    response = sign_in(client, team_a.owner.email)
    assert response["Location"] == reverse("mfa_authenticate")
    # Not signed in yet: the password alone opens nothing.
    assert client.get("/integrations/")["Location"].startswith(reverse("account_login"))

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    assert client.get("/integrations/")["Location"].startswith(reverse("account_login"))
    failed = AuditLog.objects.get(org=team_a.org, action="auth.login_failed")
    assert failed.target_id == str(team_a.owner.pk) and failed.data["method"] == "mfa"

    response = sign_in(client, team_a.owner.email, secret=TOTP_SECRET)
    assert response.status_code == 302
    assert client.get("/integrations/").status_code == 200
    login = AuditLog.objects.get(org=team_a.org, action="auth.login")
    assert login.actor == team_a.owner and "mfa" in login.data["methods"]


def test_a_session_that_never_gave_the_code_is_asked_for_it(client, team_a):
    # Django's own login, which has no code step (as a session from before MFA was set up).
    assert client.login(email=team_a.owner.email, password=PASSWORD)
    response = client.get("/integrations/?tab=sync")
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("mfa_reauthenticate") + "?next=/integrations/%3Ftab%3Dsync"
    )
    answered = client.post(response["Location"], {"code": totp_code()})
    assert answered["Location"] == "/integrations/?tab=sync"
    assert client.get("/integrations/").status_code == 200


# Transactional: allauth sends authenticator_added on commit, as it happens in production.
@pytest.mark.django_db(transaction=True)
def test_setting_up_totp_opens_the_pages_and_is_audited(client, team_a):
    owner = _without_mfa(team_a.owner)
    sign_in(client, owner.email)
    assert client.get("/integrations/")["Location"] == SETUP
    # allauth asks for the password once more before a device is added.
    reauthenticate = client.get(SETUP)["Location"]
    assert reauthenticate.startswith(reverse("account_reauthenticate"))
    assert client.post(reauthenticate, {"password": PASSWORD})["Location"] == SETUP
    assert client.get(SETUP).status_code == 200
    secret = client.session[SECRET_SESSION_KEY]

    response = client.post(SETUP, {"code": totp_code(secret)})
    assert response.status_code == 302
    device = Authenticator.objects.get(user=owner, type=Authenticator.Type.TOTP)
    # Stored encrypted with FIELD_ENCRYPTION_KEY, never in the clear.
    assert device.data["secret"] != secret
    assert crypto.decrypt(device.data["secret"]) == secret
    assert client.get("/integrations/").status_code == 200

    added = AuditLog.objects.get(org=team_a.org, action="mfa.add", data__type="totp")
    assert added.actor == owner
    for row in AuditLog.objects.all():
        assert secret not in str(row.data)


def test_a_user_removing_their_own_device_is_audited(client, team_a):
    give_totp(team_a.closer)
    sign_in(client, team_a.closer.email, secret=TOTP_SECRET)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=team_a.closer, type="totp").exists()
    removed = AuditLog.objects.get(org=team_a.org, action="mfa.remove", data__type="totp")
    assert removed.actor == team_a.closer and removed.target_id == str(team_a.closer.pk)


def _reset_url(team, user):
    return reverse("orgs:mfa_reset", args=[Membership.objects.get(org=team.org, user=user).pk])


def test_an_owner_resets_an_admins_mfa_audited(client, team_a):
    client.force_login(team_a.owner)
    response = client.post(_reset_url(team_a, team_a.admin))
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=team_a.admin).exists()
    row = AuditLog.objects.get(org=team_a.org, action="mfa.reset")
    assert row.actor == team_a.owner
    assert row.target_id == str(team_a.admin.pk)
    assert row.data == {"types": ["totp"]}
    # The admin, signed in again, must set a device up before the protected pages.
    client.force_login(team_a.admin)
    assert client.get("/integrations/")["Location"] == SETUP


def test_an_admin_may_not_reset_an_owner(client, team_a):
    client.force_login(team_a.admin)
    client.post(_reset_url(team_a, team_a.owner))
    assert Authenticator.objects.filter(user=team_a.owner).exists()
    assert not AuditLog.objects.filter(action="mfa.reset").exists()


def test_nobody_resets_a_member_who_also_belongs_to_an_org_they_do_not_run(client, team_a, team_b):
    from apps.orgs.services import membership_set_role

    membership_set_role(org=team_b.org, user=team_a.closer, role="owner", actor=None)
    give_totp(team_a.closer)
    client.force_login(team_a.owner)
    client.post(_reset_url(team_a, team_a.closer))
    assert Authenticator.objects.filter(user=team_a.closer).exists()


def test_reset_is_for_the_orgs_admins_only(client, team_a, team_b):
    url = _reset_url(team_a, team_a.admin)
    client.force_login(team_a.manager)
    assert client.post(url).status_code == 403
    client.force_login(team_b.owner)
    assert client.post(url).status_code == 404
    client.force_login(team_a.owner)
    assert client.get(url).status_code == 405
    assert Authenticator.objects.filter(user=team_a.admin).exists()


def test_a_superuser_resets_from_django_admin_audited(client, team_a):
    superuser = User.objects.create_superuser(email="root@platform.example", password=PASSWORD)
    give_totp(superuser)
    client.force_login(superuser)
    devices = list(Authenticator.objects.filter(user=team_a.admin).values_list("pk", flat=True))
    changelist = reverse("admin:mfa_authenticator_changelist")
    page = client.get(changelist)
    assert page.status_code == 200
    assert TOTP_SECRET not in page.content.decode()
    response = client.post(
        changelist,
        {"action": "reset_mfa", "index": 0, "_selected_action": devices},
    )
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=team_a.admin).exists()
    row = AuditLog.objects.get(org=team_a.org, action="mfa.reset")
    assert row.actor == superuser and row.target_id == str(team_a.admin.pk)


def test_org_admins_do_not_see_the_authenticators_admin(client, team_a):
    client.force_login(team_a.owner)
    changelist = reverse("admin:mfa_authenticator_changelist")
    assert client.get(changelist).status_code == 403


def test_a_new_user_with_no_role_is_not_forced(client, db):
    user = UserFactory()
    client.force_login(user)
    assert client.get("/settings/")["Location"] == reverse("orgs:no_org")


def test_rotate_credentials_moves_mfa_secrets_to_the_newest_key(client, team_a, settings):
    import io

    from cryptography.fernet import Fernet
    from django.core.management import call_command

    old_key = settings.FIELD_ENCRYPTION_KEY.split(",")[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"
    crypto._fernet.cache_clear()
    try:
        out = io.StringIO()
        call_command("rotate_credentials", stdout=out)
        assert "Re-encrypted 2 two-factor authenticator(s)" in out.getvalue()  # owner, admin
        settings.FIELD_ENCRYPTION_KEY = new_key  # the old key is gone now
        crypto._fernet.cache_clear()
        # The owner still signs in with the code of their device.
        assert sign_in(client, team_a.owner.email, secret=TOTP_SECRET).status_code == 302
        assert client.get("/integrations/").status_code == 200
    finally:
        settings.FIELD_ENCRYPTION_KEY = old_key
        crypto._fernet.cache_clear()
