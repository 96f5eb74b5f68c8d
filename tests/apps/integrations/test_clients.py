"""Provider clients at the HTTP layer (responses): pagination, 429s, 5xx, timeouts, 401."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses

from apps.integrations.clients import AuthError, PermanentError, TransientError
from apps.integrations.providers.calendly.client import CalendlyClient
from apps.integrations.providers.close import client as close_module
from apps.integrations.providers.close.client import CloseClient
from apps.integrations.providers.stripe.client import StripeClient
from apps.integrations.providers.typeform.client import TypeformClient
from apps.integrations.providers.whop.client import WhopClient

SECRET = "tok_super_secret_value"


class FakeTime:
    """A clock that only moves when the client sleeps: waits are asserted, never slept."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time():
    return FakeTime()


def make(cls, fake_time, **kwargs):
    kwargs.setdefault("rate_per_second", 1e9)  # pacing has its own test
    return cls(SECRET, sleep=fake_time.sleep, clock=fake_time.clock, jitter=lambda: 1.0, **kwargs)


def query(call) -> dict[str, list[str]]:
    return parse_qs(urlparse(call.request.url).query)


# --- pagination -----------------------------------------------------------------------------


@responses.activate
def test_calendly_walks_every_page_by_page_token(fake_time):
    url = "https://api.calendly.com/scheduled_events"
    pages = 7
    for n in range(pages):
        token = f"tok{n + 1}" if n + 1 < pages else None
        responses.get(
            url,
            json={
                "collection": [{"uri": f"ev{n}-{i}"} for i in range(100 if token else 42)],
                "pagination": {"next_page_token": token, "count": 100},
            },
            match=[
                responses.matchers.query_param_matcher(
                    {
                        "organization": "org-uri",
                        "sort": "start_time:asc",
                        "count": "100",
                        **({"page_token": f"tok{n}"} if n else {}),
                    }
                )
            ],
        )
    client = make(CalendlyClient, fake_time)

    walked = list(client.scheduled_event_pages("org-uri"))

    assert len(walked) == pages
    assert sum(len(p.items) for p in walked) == 6 * 100 + 42
    assert walked[0].resume == {"page_token": "tok1"}
    assert walked[-1].resume is None
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {SECRET}"


@responses.activate
def test_calendly_resumes_at_a_saved_page_token(fake_time):
    responses.get(
        "https://api.calendly.com/scheduled_events",
        json={"collection": [{"uri": "ev"}], "pagination": {"next_page_token": None}},
    )
    client = make(CalendlyClient, fake_time)
    list(
        client.scheduled_event_pages(
            "org-uri", min_start_time="2026-01-01T00:00:00Z", page_token="tok9"
        )
    )
    sent = query(responses.calls[0])
    assert sent["page_token"] == ["tok9"]
    assert sent["min_start_time"] == ["2026-01-01T00:00:00Z"]


@responses.activate
def test_typeform_walks_responses_with_after_tokens(fake_time):
    url = "https://api.typeform.com/forms/F1/responses"
    responses.get(url, json={"items": [{"token": f"a{i}"} for i in range(1000)]})
    responses.get(url, json={"items": [{"token": f"b{i}"} for i in range(1000)]})
    responses.get(url, json={"items": [{"token": f"c{i}"} for i in range(3)]})
    client = make(TypeformClient, fake_time)

    walked = list(client.response_pages("F1", since="2026-01-01T00:00:00+00:00"))

    assert [len(p.items) for p in walked] == [1000, 1000, 3]
    assert "after" not in query(responses.calls[0])
    assert query(responses.calls[1])["after"] == ["a999"]
    assert query(responses.calls[2])["after"] == ["b999"]
    assert all("sort" not in query(c) for c in responses.calls)  # after and sort do not mix
    assert query(responses.calls[0])["page_size"] == ["1000"]
    assert walked[-1].resume is None and walked[0].resume == {"after": "a999"}


@responses.activate
def test_close_pages_by_skip_and_moves_its_date_window_before_skip_gets_deep(
    fake_time, monkeypatch
):
    monkeypatch.setattr(close_module, "WINDOW_ITEMS", 200)
    url = "https://api.close.com/api/v1/opportunity/"
    for n in range(5):
        responses.get(
            url,
            json={
                "data": [
                    {"id": f"o{n}-{i}", "date_created": f"2026-01-0{n + 1}T00:00:{i % 60:02d}"}
                    for i in range(100)
                ],
                "has_more": n < 4,
            },
        )
    client = make(CloseClient, fake_time)

    walked = list(client.pages("/opportunity/", {}))

    assert sum(len(p.items) for p in walked) == 500
    sent = [query(c) for c in responses.calls]
    assert [s["_skip"] for s in sent] == [["0"], ["100"], ["0"], ["100"], ["0"]]
    assert "date_created__gte" not in sent[0]
    # After 200 items the window restarts at the last date seen, _skip back to 0.
    assert sent[2]["date_created__gte"] == ["2026-01-02T00:00:39"]
    assert walked[1].resume == {"since": "2026-01-02T00:00:39", "skip": 0}
    assert walked[-1].resume is None
    # Basic auth with the key as user name; the key never appears in the URL.
    assert responses.calls[0].request.headers["Authorization"].startswith("Basic ")
    assert SECRET not in responses.calls[0].request.url


@responses.activate
def test_stripe_walks_with_starting_after(fake_time):
    url = "https://api.stripe.com/v1/charges"
    responses.get(url, json={"data": [{"id": f"ch_{i}"} for i in range(100)], "has_more": True})
    responses.get(url, json={"data": [{"id": "ch_last"}], "has_more": False})
    client = make(StripeClient, fake_time)

    walked = list(client.pages("charges", created_gte=1767225600))

    assert [len(p.items) for p in walked] == [100, 1]
    assert query(responses.calls[1])["starting_after"] == ["ch_99"]
    assert query(responses.calls[0])["created[gte]"] == ["1767225600"]


def test_stripe_paces_test_keys_at_the_test_mode_limit():
    assert StripeClient("sk_test_x").rate_per_second < 25
    assert StripeClient("sk_live_x").rate_per_second < 100
    assert StripeClient("sk_live_x").rate_per_second > 25


@responses.activate
def test_whop_follows_end_cursors(fake_time):
    url = "https://api.whop.com/api/v1/payments"
    responses.get(
        url,
        json={"data": [{"id": "p1"}], "page_info": {"end_cursor": "c1", "has_next_page": True}},
    )
    responses.get(
        url,
        json={"data": [{"id": "p2"}], "page_info": {"end_cursor": "c2", "has_next_page": False}},
    )
    client = make(WhopClient, fake_time)

    walked = list(client.pages("payments", {}))

    assert [p.items[0]["id"] for p in walked] == ["p1", "p2"]
    assert query(responses.calls[1])["after"] == ["c1"]
    assert walked[-1].resume is None


# --- 429 ------------------------------------------------------------------------------------


@responses.activate
def test_calendly_429_waits_the_x_ratelimit_reset_seconds(fake_time):
    url = "https://api.calendly.com/users/me"
    responses.get(
        url,
        status=429,
        headers={
            "X-RateLimit-Limit": "500",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "37",
        },
        json={"title": "Too Many Requests"},
    )
    responses.get(url, json={"resource": {"uri": "u", "current_organization": "o"}})
    client = make(CalendlyClient, fake_time)

    assert client.me()["current_organization"] == "o"
    assert fake_time.sleeps == [37.0]
    assert len(responses.calls) == 2


@responses.activate
def test_close_429_waits_the_rate_reset_from_the_body(fake_time):
    url = "https://api.close.com/api/v1/user/"
    responses.get(
        url,
        status=429,
        json={
            "error": {"rate_reset": 2.75, "rate_limit": 40, "message": "API call count exceeded"}
        },
    )
    responses.get(url, json={"data": [{"id": "user_1"}], "has_more": False})
    client = make(CloseClient, fake_time)

    assert [u["id"] for u in client.users()] == ["user_1"]
    assert fake_time.sleeps == [2.75]


@responses.activate
def test_a_429_with_retry_after_waits_that_long(fake_time):
    url = "https://api.typeform.com/forms/F1"
    responses.get(url, status=429, headers={"Retry-After": "4"})
    responses.get(url, json={"id": "F1"})
    client = make(TypeformClient, fake_time)

    assert client.form("F1") == {"id": "F1"}
    assert fake_time.sleeps == [4.0]


@responses.activate
def test_close_slows_down_when_its_ratelimit_header_says_the_budget_is_spent(fake_time):
    url = "https://api.close.com/api/v1/user/"
    responses.get(
        url,
        headers={"RateLimit": "limit=40, remaining=0, reset=3"},
        json={"data": [{"id": "a"}], "has_more": True},
    )
    responses.get(url, json={"data": [{"id": "b"}], "has_more": False})
    client = make(CloseClient, fake_time)

    assert [u["id"] for u in client.users()] == ["a", "b"]
    assert fake_time.sleeps == [3.0]


@responses.activate
def test_a_provider_that_keeps_rate_limiting_fails_as_transient(fake_time):
    url = "https://api.calendly.com/users/me"
    responses.get(url, status=429, headers={"X-RateLimit-Reset": "1"})
    client = make(CalendlyClient, fake_time)

    with pytest.raises(TransientError, match="still rate limited"):
        client.me()
    assert len(responses.calls) == client.max_rate_limit_retries + 1


# --- 5xx, timeouts, connection errors -------------------------------------------------------


@responses.activate
def test_a_500_is_retried_after_a_backoff(fake_time):
    url = "https://api.calendly.com/users/me"
    responses.get(url, status=500, body="oops")
    responses.get(url, status=502, body="oops")
    responses.get(url, json={"resource": {"uri": "u", "current_organization": "o"}})
    client = make(CalendlyClient, fake_time)

    assert client.me()["uri"] == "u"
    # Exponential: base, then twice that (jitter pinned at its top).
    assert fake_time.sleeps == [1.0, 2.0]


def test_backoff_has_jitter_and_a_cap(fake_time):
    low = CalendlyClient(SECRET, sleep=fake_time.sleep, jitter=lambda: 0.0)
    high = CalendlyClient(SECRET, sleep=fake_time.sleep, jitter=lambda: 1.0)
    assert low._backoff(3) == 2.0 and high._backoff(3) == 4.0
    assert high._backoff(30) == high.backoff_cap


@responses.activate
def test_a_timeout_is_retried(fake_time):
    url = "https://api.typeform.com/forms/F1"
    responses.get(url, body=requests.exceptions.ReadTimeout("read timed out"))
    responses.get(url, body=requests.exceptions.ConnectionError("reset by peer"))
    responses.get(url, json={"id": "F1"})
    client = make(TypeformClient, fake_time)

    assert client.form("F1") == {"id": "F1"}
    assert fake_time.sleeps == [1.0, 2.0]


@responses.activate
def test_requests_carry_a_timeout(fake_time):
    responses.get("https://api.typeform.com/forms/F1", json={"id": "F1"})
    client = make(TypeformClient, fake_time)
    sent = {}
    original = client.session.request

    def spy(*args, **kwargs):
        sent.update(kwargs)
        return original(*args, **kwargs)

    client.session.request = spy
    client.form("F1")
    assert sent["timeout"] == client.timeout


@responses.activate
def test_5xx_that_never_ends_is_a_transient_error(fake_time):
    url = "https://api.stripe.com/v1/charges"
    responses.get(url, status=503, body="down")
    client = make(StripeClient, fake_time, max_retries=3)

    with pytest.raises(TransientError, match="HTTP 503") as info:
        list(client.pages("charges"))
    assert info.value.retryable
    assert len(responses.calls) == 4


# --- permanent failures ---------------------------------------------------------------------


@responses.activate
def test_a_401_is_an_auth_error_without_retrying_and_without_the_secret(fake_time):
    responses.get("https://api.close.com/api/v1/user/", status=401, json={"error": "Unauthorized"})
    client = make(CloseClient, fake_time)

    with pytest.raises(AuthError) as info:
        list(client.users())
    assert len(responses.calls) == 1
    assert fake_time.sleeps == []
    assert "refused the credential" in str(info.value)
    assert SECRET not in str(info.value)


@responses.activate
def test_a_400_is_permanent_and_names_the_path_not_the_query(fake_time):
    responses.get(
        "https://api.close.com/api/v1/lead/", status=400, json={"error": "_skip too deep"}
    )
    client = make(CloseClient, fake_time)

    with pytest.raises(PermanentError, match="HTTP 400 on GET /api/v1/lead/") as info:
        list(client.pages("/lead/", {}))
    assert not info.value.retryable
    assert "_skip too deep" in str(info.value)
    assert "query=" not in str(info.value)


# --- pacing ---------------------------------------------------------------------------------


@responses.activate
def test_requests_are_paced_under_the_documented_limit(fake_time):
    url = "https://api.typeform.com/forms/F1"
    responses.get(url, json={"id": "F1"})
    client = TypeformClient(SECRET, sleep=fake_time.sleep, clock=fake_time.clock)
    for _ in range(11):
        client.form("F1")
    elapsed = fake_time.now - 1000.0
    # 11 requests at under 2/s: the last one goes out no sooner than 10 / 2 s after the first.
    assert elapsed >= 5.0
    assert 10 / elapsed < 2.0


def test_calendly_paces_under_500_a_minute():
    assert 60 * CalendlyClient(SECRET).rate_per_second < 500


def test_close_paces_under_its_20_a_second_example_limit():
    assert 19 <= CloseClient(SECRET).rate_per_second < 20


@responses.activate
def test_calendly_holds_off_when_the_budget_is_announced_spent(fake_time):
    url = "https://api.calendly.com/users/me"
    responses.get(
        url,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "12"},
        json={"resource": {"uri": "u", "current_organization": "o"}},
    )
    client = make(CalendlyClient, fake_time)
    client.me()
    client.me()
    assert fake_time.sleeps == [12.0]
