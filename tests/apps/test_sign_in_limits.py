"""Sign-in rate limits: keyed on the client behind trusted proxies, and failing open without Redis.

The test settings turn allauth's rate limits off; these tests put production's back.
"""

import logging

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse

from apps.orgs.adapters import client_ip
from config import settings as production
from tests.conftest import PASSWORD

DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
    }
}
TOO_MANY = "Too many failed login attempts"
MISMATCH = "The email address and/or password you specified are not correct."


@pytest.fixture
def limits(settings):
    cache.clear()  # earlier tests' histories live in Redis
    settings.ACCOUNT_RATE_LIMITS = production.ACCOUNT_RATE_LIMITS
    return settings


def _sign_in(client, email, password, **headers):
    return client.post(reverse("account_login"), {"login": email, "password": password}, **headers)


@pytest.mark.django_db
def test_sign_in_succeeds_while_redis_is_down(client, team_a, limits, caplog):
    limits.CACHES = DEAD_REDIS
    with caplog.at_level(logging.WARNING, logger="apps.orgs.adapters"):
        response = _sign_in(client, "manager@org-a.example", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(team_a.manager.pk)
    assert "sign-in rate limits are off: the cache is unreachable" in caplog.text


@pytest.mark.django_db
def test_a_wrong_password_gets_the_normal_error_while_redis_is_down(client, team_a, limits):
    limits.CACHES = DEAD_REDIS
    response = _sign_in(client, "manager@org-a.example", "not-the-password")
    assert response.status_code == 200
    assert MISMATCH in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_failed_sign_ins_are_limited_with_redis_up(client, team_a, limits):
    for _ in range(5):
        assert MISMATCH in _sign_in(client, "closer@org-a.example", "wrong").content.decode()
    assert TOO_MANY in _sign_in(client, "closer@org-a.example", "wrong").content.decode()


@pytest.mark.django_db
def test_clients_behind_one_proxy_are_limited_apart(client, team_a, limits):
    limits.TRUSTED_PROXY_COUNT = 1
    limits.ACCOUNT_RATE_LIMITS = {"login_failed": "3/m/ip"}
    # The proxy appends the address it saw; the client may have sent anything before it.
    first = {"HTTP_X_FORWARDED_FOR": "10.9.9.9, 203.0.113.7"}
    for _ in range(3):
        _sign_in(client, "setter@org-a.example", "wrong", **first)
    assert TOO_MANY in _sign_in(client, "setter@org-a.example", "wrong", **first).content.decode()

    second = {"HTTP_X_FORWARDED_FOR": "10.9.9.9, 198.51.100.4"}
    response = _sign_in(client, "setter@org-a.example", "wrong", **second)
    assert MISMATCH in response.content.decode()
    assert _sign_in(client, "setter@org-a.example", PASSWORD, **second).status_code == 302


@pytest.mark.django_db
def test_without_a_trusted_proxy_a_spoofed_header_does_not_dodge_the_limit(client, team_a, limits):
    limits.TRUSTED_PROXY_COUNT = 0
    limits.ACCOUNT_RATE_LIMITS = {"login_failed": "3/m/ip"}
    for n in range(3):
        _sign_in(client, "setter@org-a.example", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    response = _sign_in(client, "setter@org-a.example", "wrong", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert TOO_MANY in response.content.decode()


@pytest.mark.parametrize(
    ("count", "forwarded_for", "expected"),
    [
        (0, "203.0.113.7", "127.0.0.9"),
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "1.2.3.4, 203.0.113.7", "203.0.113.7"),
        (2, "1.2.3.4, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (2, "203.0.113.7", "127.0.0.9"),  # fewer hops than proxies: it came around them
        (1, "", "127.0.0.9"),
        (1, "not-an-address", "127.0.0.9"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_ip_takes_the_address_the_outermost_trusted_proxy_saw(
    settings, count, forwarded_for, expected
):
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.9", HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_ip(request) == expected
