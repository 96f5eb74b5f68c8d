"""The audit trail: what is written (by id, never personal data or secrets) and the owners' page."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from apps.orgs import services
from apps.orgs.models import AuditLog, Role, User
from apps.orgs.services import WEBHOOK_REJECTION_BURST, audit_webhook_rejection
from tests.apps.csv_read import csv_text
from tests.apps.integrations.webhook_support import deliver, set_secrets
from tests.conftest import PASSWORD, sign_in
from tests.factories import MeetingFactory

pytestmark = pytest.mark.django_db

AUDIT = reverse("orgs:audit")
AUDIT_CSV = reverse("orgs:audit_csv")


@pytest.fixture(autouse=True)
def _clear_cache():
    # Lockout windows, burst counters and allauth's rate limits live in the cache.
    cache.clear()


def _rows(org, action):
    return list(AuditLog.objects.filter(org=org, action=action))


def _csv(response):
    return list(csv.reader(io.StringIO(csv_text(response))))


# --- what is written -----------------------------------------------------------------------------


def test_a_wrong_password_is_audited_by_id_in_each_org_of_the_user(client, team_a, team_b):
    services.membership_set_role(org=team_b.org, user=team_a.manager, role=Role.VIEWER, actor=None)
    sign_in(client, team_a.manager.email, password="not-it")
    for org in (team_a.org, team_b.org):
        [row] = _rows(org, "auth.login_failed")
        assert row.target_id == str(team_a.manager.pk)
        assert row.data == {"method": "password"}
        assert team_a.manager.email not in str(row.data)


def test_a_wrong_password_for_an_unknown_address_writes_nothing(client, team_a):
    sign_in(client, "nobody@nowhere.example", password="not-it")
    assert not AuditLog.objects.filter(action="auth.login_failed").exists()


def test_a_sign_in_is_audited(client, team_a):
    sign_in(client, team_a.closer.email)
    [row] = _rows(team_a.org, "auth.login")
    assert row.actor == team_a.closer and row.data == {"methods": ["password"]}


@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "10/m/ip,5/5m/key"})
def test_a_lockout_is_audited_once_per_window(client, team_a):
    for _ in range(5):
        sign_in(client, team_a.closer.email, password="not-it")
    assert not _rows(team_a.org, "auth.lockout")
    for _ in range(3):
        locked = sign_in(client, team_a.closer.email, password=PASSWORD)
        assert locked.status_code == 200  # refused even with the right password
    [row] = _rows(team_a.org, "auth.lockout")
    assert row.target_id == str(team_a.closer.pk)
    assert len(_rows(team_a.org, "auth.login_failed")) == 5


def test_a_password_change_is_audited(client, team_a):
    sign_in(client, team_a.closer.email)
    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "a-new-long-pass-2026",
            "password2": "a-new-long-pass-2026",
        },
    )
    assert response.status_code == 302
    [row] = _rows(team_a.org, "auth.password_change")
    assert row.actor == team_a.closer
    assert "a-new-long-pass-2026" not in str(row.data)


def test_role_changes_and_invitations_name_people_by_id(team_a):
    services.membership_set_role(
        org=team_a.org, user=team_a.viewer, role=Role.MANAGER, actor=team_a.owner
    )
    [role] = _rows(team_a.org, "membership.role")[:1]
    assert role.data == {"user": team_a.viewer.pk, "role": "manager", "previous": "viewer"}
    invitation = services.invitation_create(
        org=team_a.org, email="New.Person@example.com", role=Role.CLOSER, actor=team_a.owner
    )
    [row] = _rows(team_a.org, "invitation.create")
    assert row.target_id == str(invitation.pk) and row.data == {"role": "closer"}


def test_a_csv_download_is_audited(client, team_a):
    client.force_login(team_a.manager)
    response = client.get(reverse("payments:list"), {"format": "csv"})
    assert response.status_code == 200
    [row] = _rows(team_a.org, "export.csv")
    assert row.actor == team_a.manager
    assert row.data["path"] == reverse("payments:list")
    assert row.data["filename"].startswith("payments-")


def test_an_id_of_another_org_is_a_404_and_audited(client, team_a, team_b):
    theirs = MeetingFactory(org=team_a.org)
    client.force_login(team_b.manager)
    assert client.get(reverse("meetings:detail", args=[theirs.pk])).status_code == 404
    [row] = _rows(team_b.org, "access.foreign_id")
    assert row.actor == team_b.manager
    assert (row.target_type, row.target_id) == ("meetings.meeting", str(theirs.pk))
    # Org A is told nothing about who of org B tried, and a missing id is only a 404.
    assert not _rows(team_a.org, "access.foreign_id")
    assert client.get(reverse("meetings:detail", args=[theirs.pk + 1000])).status_code == 404
    assert len(_rows(team_b.org, "access.foreign_id")) == 1


def test_a_burst_of_bad_signatures_is_one_row_per_window(client, team_a):
    set_secrets(team_a.org)
    for _ in range(WEBHOOK_REJECTION_BURST * 2 + 3):
        response = deliver(client, "stripe", team_a.org.slug, {"id": "evt_x"}, secret="forged")
        assert response.status_code == 401
    [row] = _rows(team_a.org, "webhook.signature_burst")
    assert row.data["provider"] == "stripe"
    assert row.data["rejected"] == WEBHOOK_REJECTION_BURST


def test_fewer_bad_signatures_than_a_burst_write_nothing_and_windows_count_apart(team_a):
    now = timezone.now()
    for _ in range(WEBHOOK_REJECTION_BURST - 1):
        assert not audit_webhook_rejection(org=team_a.org, provider="close", now=now)
    later = now + services.WEBHOOK_REJECTION_WINDOW + timedelta(seconds=1)
    for _ in range(WEBHOOK_REJECTION_BURST - 1):
        audit_webhook_rejection(org=team_a.org, provider="close", now=later)
    assert not _rows(team_a.org, "webhook.signature_burst")
    assert audit_webhook_rejection(org=team_a.org, provider="close", now=later)


# --- the page ------------------------------------------------------------------------------------


@pytest.fixture
def trail(team_a, team_b):
    base = timezone.now() - timedelta(days=3)
    AuditLog.objects.create(org=team_a.org, actor=team_a.owner, action="org.settings")
    AuditLog.objects.create(
        org=team_a.org, actor=team_a.admin, action="credential.set", created_at=base
    )
    AuditLog.objects.create(org=team_b.org, actor=team_b.owner, action="org-b-secret-action")
    return base


def test_owners_and_admins_see_their_orgs_rows_only(client, team_a, trail):
    for user in (team_a.owner, team_a.admin):
        client.force_login(user)
        page = client.get(AUDIT)
        assert page.status_code == 200
        html = page.content.decode()
        assert "org.settings" in html and "credential.set" in html
        assert "org-b-secret-action" not in html


def test_managers_closers_and_viewers_get_403(client, team_a, trail):
    for user in (team_a.manager, team_a.closer, team_a.setter, team_a.viewer):
        client.force_login(user)
        assert client.get(AUDIT).status_code == 403, user
        assert client.get(AUDIT_CSV).status_code == 403, user


def test_the_other_orgs_owner_sees_none_of_org_a(client, team_a, team_b, trail):
    client.force_login(team_b.owner)
    html = client.get(AUDIT, {"actor": team_a.owner.pk}).content.decode()
    assert "org.settings" not in html and "credential.set" not in html
    rows = _csv(client.get(AUDIT_CSV))
    assert "org-b-secret-action" in {r[1] for r in rows[1:]}
    assert len(rows) - 1 == AuditLog.objects.filter(org=team_b.org).count() - 1  # minus its export
    assert not {"org.settings", "credential.set"} & {r[1] for r in rows[1:]}


def test_filters_by_action_actor_and_dates(client, team_a, trail):
    client.force_login(team_a.owner)
    html = client.get(AUDIT, {"action": "credential.set"}).content.decode()
    assert "credential.set</td>" in html and "org.settings</td>" not in html
    html = client.get(AUDIT, {"actor": team_a.owner.pk}).content.decode()
    assert "org.settings</td>" in html and "credential.set</td>" not in html
    day = trail.astimezone(team_a.org.tzinfo).date()
    html = client.get(AUDIT, {"start": day, "end": day}).content.decode()
    assert "credential.set</td>" in html and "org.settings</td>" not in html
    backwards = client.get(AUDIT, {"start": day, "end": day - timedelta(days=1)})
    assert "The start date is after the end date." in backwards.content.decode()


def test_the_page_is_paginated(client, team_a):
    AuditLog.objects.bulk_create(
        AuditLog(org=team_a.org, action=f"bulk.{i:02d}") for i in range(60)
    )
    client.force_login(team_a.owner)
    first = client.get(AUDIT).content.decode()
    assert "Page 1 of 2" in first
    assert "<td>bulk.59</td>" in first and "<td>bulk.00</td>" not in first
    assert "<td>bulk.00</td>" in client.get(AUDIT, {"page": 2}).content.decode()


def test_the_csv_has_the_filtered_rows_and_is_itself_audited(client, team_a, trail):
    client.force_login(team_a.owner)
    rows = _csv(client.get(AUDIT_CSV, {"action": "credential.set"}))
    assert rows[0] == [
        "created_at", "action", "actor_id", "actor", "target_type", "target_id", "data"
    ]  # fmt: skip
    assert [r[1] for r in rows[1:]] == ["credential.set"]
    assert rows[1][2] == str(team_a.admin.pk)
    [export] = _rows(team_a.org, "export.csv")
    assert export.data["filename"] == "audit-org-a.csv"


def test_the_page_and_csv_are_get_only_and_for_signed_in_members(client, team_a):
    assert client.get(AUDIT)["Location"].startswith(reverse("account_login"))
    client.force_login(team_a.owner)
    assert client.post(AUDIT).status_code == 405
    assert client.post(AUDIT_CSV).status_code == 405


def test_the_settings_page_links_the_audit_log_for_admins(client, team_a):
    client.force_login(team_a.owner)
    assert AUDIT in client.get(reverse("orgs:settings")).content.decode()
    client.force_login(team_a.manager)
    assert AUDIT not in client.get(reverse("orgs:settings")).content.decode()


def test_nothing_secret_reaches_the_trail(client, team_a):
    user = User.objects.get(pk=team_a.owner.pk)
    sign_in(client, user.email, password="wrong-password-1")
    for row in AuditLog.objects.all():
        assert "wrong-password-1" not in str(row.data)
        assert user.email not in str(row.data)


def test_the_migration_rewrites_old_rows_that_named_people_by_email(team_a):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("apps.orgs.migrations.0002_audit_rows_name_people_by_id")
    old_role = AuditLog.objects.create(
        org=team_a.org,
        action="membership.role",
        data={"user": team_a.closer.email.upper(), "role": "closer", "previous": None},
    )
    old_invitation = AuditLog.objects.create(
        org=team_a.org, action="invitation.create", data={"email": "x@y.example", "role": "viewer"}
    )
    migration.forwards(apps, None)
    old_role.refresh_from_db()
    old_invitation.refresh_from_db()
    assert old_role.data == {"user": team_a.closer.pk, "role": "closer", "previous": None}
    assert old_invitation.data == {"role": "viewer"}
