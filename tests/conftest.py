"""The base fixture set (STYLE.md 13): org A with one person per role, and an outsider in org B."""

import fcntl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from allauth.mfa import app_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, settings

from apps.orgs.models import Organization, Role, TeamMember, User
from apps.orgs.services import membership_set_role
from tests.factories import OrganizationFactory, TeamMemberFactory, UserFactory

# Two xdist workers share two cores with PostgreSQL: wall-clock health checks and deadlines
# would fail on load, not on behaviour.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

PASSWORD = "correct-horse-battery"
# The TOTP secret of every owner and admin the fixtures make: the roles that must use MFA
# (apps/orgs/mfa.py) have a device, as they would in production.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def give_totp(user: User, secret: str = TOTP_SECRET) -> Authenticator:
    return TOTP.activate(user, secret).instance


def totp_code(secret: str = TOTP_SECRET) -> str:
    """The code an authenticator app shows for ``secret`` right now."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // app_settings.TOTP_PERIOD))


def sign_in(client: Client, email: str, password: str = PASSWORD, secret: str | None = None):
    """Signs in through allauth's forms, as a person would; with ``secret``, answers the code
    step too. Returns the last response."""
    response = client.post(reverse("account_login"), {"login": email, "password": password})
    if secret is None:
        return response
    assert response["Location"] == reverse("mfa_authenticate"), "no code step after password"
    # allauth refuses a code already used in its 30 s window (replay), keyed by user id: a rerun
    # of the suite within the window reuses ids and codes.
    code = totp_code(secret)
    user = User.objects.get(email__iexact=email)
    cache.delete(TOTP(Authenticator(user=user))._get_used_cache_key(code))
    return client.post(reverse("mfa_authenticate"), {"code": code})


@pytest.fixture(autouse=True)
def _no_rollup_refresh_left_over():
    """Rollup changes a test registered in a transaction that rolled back (every django_db
    test's) wait, per thread, for the next commit; they must not be flushed into the next test
    (where a test counting its refreshes would see another org's)."""
    from apps.kpis import invalidation

    invalidation._local.__dict__.pop("pending", None)
    yield
    invalidation._local.__dict__.pop("pending", None)


@pytest.fixture(autouse=True)
def _force_login_passes_mfa(monkeypatch):
    """``client.force_login`` stands for a complete sign-in: for a user with a device, the code
    step included, as allauth records it in the session. A test of the code step itself signs
    in through the login form instead."""
    from apps.orgs.mfa import DEVICE_TYPES, session_mark_mfa_verified

    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        device = Authenticator.objects.filter(user=user, type__in=DEVICE_TYPES).first()
        if device is None:
            return
        request = type("Request", (), {"session": self.session})()
        session_mark_mfa_verified(request, device)
        request.session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


@dataclass
class Team:
    org: Organization
    owner: User
    admin: User
    manager: User
    closer: User
    setter: User
    viewer: User
    closer_member: TeamMember
    setter_member: TeamMember
    other_closer_member: TeamMember


def _team(slug: str) -> Team:
    org = OrganizationFactory(slug=slug, name=slug.replace("-", " ").title())
    users = {}
    for role in Role.values:
        user = UserFactory(email=f"{role}@{slug}.example")
        membership_set_role(org=org, user=user, role=role, actor=None)
        if role in (Role.OWNER, Role.ADMIN):
            give_totp(user)
        users[role] = user
    closer_member = TeamMemberFactory(
        org=org,
        name=f"{slug} closer",
        email=users["closer"].email,
        user=users["closer"],
        is_closer=True,
    )
    setter_member = TeamMemberFactory(
        org=org,
        name=f"{slug} setter",
        email=users["setter"].email,
        user=users["setter"],
        is_setter=True,
    )
    other = TeamMemberFactory(org=org, name=f"{slug} other closer", is_closer=True)
    return Team(
        org=org,
        closer_member=closer_member,
        setter_member=setter_member,
        other_closer_member=other,
        **users,
    )


@pytest.fixture
def team_a(db) -> Team:
    return _team("org-a")


@pytest.fixture
def team_b(db) -> Team:
    return _team("org-b")


@pytest.fixture
def outsider(team_b) -> User:
    """An owner in org B: full rights there, none in org A."""
    return team_b.owner


@pytest.fixture
def login(client):
    def _login(user: User):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def connections_released():
    """For tests that open dozens of connections at once: one such test at a time across every
    xdist worker, and afterwards wait until PostgreSQL has really ended those sessions (a
    closed connection's server process exits a moment later). Two of them side by side meet
    "too many clients": max_connections is 100 on the test machines.

    A file lock, not ``--dist loadgroup``: pytest-xdist 3.8 marks a group by rewriting
    ``item._nodeid``, which pytest 9 no longer reads, so the group mark is silently ignored.
    """
    with open(Path(tempfile.gettempdir()) / "attribution-tests-many-connections.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, even on a crash
        yield
        _wait_for_sessions_to_end()


def _wait_for_sessions_to_end() -> None:
    def others() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            return cursor.fetchone()[0]

    deadline = time.monotonic() + 10
    while others() > 5 and time.monotonic() < deadline:
        time.sleep(0.05)
