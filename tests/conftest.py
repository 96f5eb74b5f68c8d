"""The base fixture set (STYLE.md 13): org A with one person per role, and an outsider in org B."""

import fcntl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from hypothesis import HealthCheck, settings

from apps.orgs.models import Organization, Role, TeamMember, User
from apps.orgs.services import membership_set_role
from tests.factories import OrganizationFactory, TeamMemberFactory, UserFactory

# Two xdist workers share two cores with PostgreSQL: wall-clock health checks and deadlines
# would fail on load, not on behaviour.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

PASSWORD = "correct-horse-battery"


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
