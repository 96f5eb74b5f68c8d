"""Issue 17: signed bodies of any shape never get a 5xx, and a 2xx always ends processed.

Each example takes a provider sample from tests/fixtures/providers/, mutates it the ways the fuzz
probe did (deep nesting, huge numbers, wrong types, lists for scalars, NUL and lone surrogates,
long strings, far-future times, missing keys), signs it with the stored secret, posts it to the
real endpoint and runs the real task on the stored row. The property: a 4xx with a JSON error and
nothing stored, or a 2xx whose row ends processed, with domain rows or a recorded "ignored: ..."
reason, never failed and never left pending.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.contacts.models import SourceRecord
from apps.integrations.models import WebhookEvent
from apps.payments.models import Payment, Refund
from tests.apps.integrations.webhook_support import SAMPLES, set_secrets, sign, url

pytestmark = pytest.mark.django_db

PROVIDERS = ("calendly", "typeform", "close", "stripe", "whop")
# Per provider; a few seconds each in `make test`. Raise it for a longer hunt:
# WEBHOOK_FUZZ_EXAMPLES=500 pytest tests/apps/integrations/test_webhook_fuzz.py
EXAMPLES = int(os.environ.get("WEBHOOK_FUZZ_EXAMPLES", "20"))
# Bodies too deep for json.dumps itself are spliced in as raw text in place of a marker string.
RAW = "\u2063raw:{}\u2063"
RAW_NUMBERS = ("1e400", "-1e400", "9" * 400, "1" + "0" * 5000)

Path = tuple[Any, ...]


def _paths(node: Any, prefix: Path = ()) -> list[Path]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _get(node: Any, path: Path) -> Any:
    for part in path:
        node = node[part]
    return node


def _set(root: dict, path: Path, value: Any) -> dict:
    if not path:
        return value
    _get(root, path[:-1])[path[-1]] = value
    return root


def _delete(root: dict, path: Path) -> dict:
    parent = _get(root, path[:-1])
    if isinstance(parent, dict):
        del parent[path[-1]]
    return root


_ODD_VALUES = st.sampled_from(
    [None, True, False, 0, -1, 1.5, "", " ", "x", [], {}, [1, 2], {"a": "b"}, [{}], [[]]]
)
_HUGE_NUMBERS = st.sampled_from(
    [10**15, -(10**15), 10**20, 2**63, 2**64 + 1, -(2**63) - 1, 10**300, 1e308, -1e308, 1e-300]
)
_FAR_TIMES = st.sampled_from(
    [
        10**11,
        10**13,
        10**20,
        -(10**12),
        "99999999999999999999",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31",
        "10000-01-01T00:00:00Z",
        "2026-13-45T99:99:99Z",
        "\u0661\u0662",  # Arabic-Indic digits: str.isdigit() is true
    ]
)


def _spiced(text: str, draw) -> str:
    spice = draw(st.sampled_from(["\x00", "\ud800", "\udfff", "\x00\ud83d", "\u0000\u0000"]))
    at = draw(st.integers(0, len(text)))
    return text[:at] + spice + text[at:]


@st.composite
def mutated(draw, provider: str) -> tuple[str, bytes]:
    sample = draw(st.sampled_from([s for s in SAMPLES if s.provider == provider]))
    payload = sample.build()
    raws: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(payload)
        leaves = [p for p in paths if not isinstance(_get(payload, p), dict | list)]
        strings = [p for p in leaves if isinstance(_get(payload, p), str)] or leaves
        numbers = [
            p for p in leaves if type(_get(payload, p)) in (int, float) or "amount" in str(p)
        ] or leaves
        if not leaves:  # the whole body became an empty list or object
            break
        kind = draw(
            st.sampled_from(
                [
                    "deep",
                    "huge_number",
                    "raw_number",
                    "wrong_type",
                    "listify",
                    "bad_text",
                    "bad_key",
                    "long_text",
                    "far_time",
                    "missing",
                ]
            )
        )
        if kind == "deep":
            path = draw(st.sampled_from(paths))
            depth = draw(st.sampled_from([65, 300, 10_000]))
            raws.append("[" * depth + "]" * depth)
            payload = _set(payload, path, RAW.format(len(raws) - 1))
        elif kind == "huge_number":
            payload = _set(payload, draw(st.sampled_from(numbers)), draw(_HUGE_NUMBERS))
        elif kind == "raw_number":
            raws.append(draw(st.sampled_from(RAW_NUMBERS)))
            payload = _set(payload, draw(st.sampled_from(numbers)), RAW.format(len(raws) - 1))
        elif kind == "wrong_type":
            # A copy: a later mutation inside it must not change the strategy's own value.
            odd = copy.deepcopy(draw(_ODD_VALUES))
            payload = _set(payload, draw(st.sampled_from(paths)), odd)
        elif kind == "listify":
            path = draw(st.sampled_from(paths))
            payload = _set(payload, path, [copy.deepcopy(_get(payload, path))])
        elif kind == "bad_text":
            path = draw(st.sampled_from(strings))
            payload = _set(payload, path, _spiced(str(_get(payload, path)), draw))
        elif kind == "bad_key":
            dicts = [p for p in paths if isinstance(_get(payload, p), dict) and _get(payload, p)]
            if not dicts:
                continue
            path = draw(st.sampled_from(dicts))
            node = _get(payload, path)
            key = draw(st.sampled_from(sorted(node)))
            node[_spiced(key, draw)] = node.pop(key)
        elif kind == "long_text":
            path = draw(st.sampled_from(strings))
            length = draw(st.sampled_from([101, 256, 321, 1001, 20_000]))
            filler = draw(st.sampled_from(["x", "é", "\U0001f600"]))
            payload = _set(payload, path, str(_get(payload, path)) + filler * length)
        elif kind == "far_time":
            payload = _set(payload, draw(st.sampled_from(leaves)), draw(_FAR_TIMES))
        else:
            keyed = [p for p in paths if p]
            if keyed:
                payload = _delete(payload, draw(st.sampled_from(keyed)))
    text = json.dumps(payload)
    for index, raw in enumerate(raws):
        text = text.replace(json.dumps(RAW.format(index)), raw)
    return sample.id, text.encode()


@pytest.fixture
def org(team_a):
    set_secrets(team_a.org)
    return team_a.org


class _Rollback(Exception):
    pass


def _domain_rows(org) -> int:
    return sum(model.objects.filter(org=org).count() for model in (SourceRecord, Payment, Refund))


def _check_delivery(org, sample_id: str, body: bytes, capture) -> None:
    client = Client(raise_request_exception=False)
    # A fixed webhook-id: the whop test helper would otherwise json.loads the hostile body.
    headers = sign(sample_id.split(":")[0], body, msg_id="msg_fuzz")
    try:
        with transaction.atomic():  # each example starts from an empty org
            with capture(execute=True):
                response = client.post(
                    url(sample_id.split(":")[0], org.slug),
                    data=body,
                    content_type="application/json",
                    headers=headers,
                )
            exc = getattr(response, "exc_info", None)
            assert response.status_code < 500, (response.status_code, exc and exc[1])
            events = list(WebhookEvent.objects.filter(org=org))
            if response.status_code >= 400:
                assert "error" in response.json()
                assert events == []
            else:
                assert response.status_code == 200
                (event,) = events
                assert event.status == WebhookEvent.Status.PROCESSED, (event.status, event.error)
                if not event.error.startswith("ignored: "):
                    assert event.error == ""
                    assert _domain_rows(org) > 0, "processed, yet nothing was recorded"
            raise _Rollback
    except _Rollback:
        pass


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_signed_body_of_any_shape_is_a_4xx_or_ends_processed(
    provider, org, worker, django_capture_on_commit_callbacks
):
    @settings(
        max_examples=EXAMPLES,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(delivery=mutated(provider))
    def check(delivery):
        sample_id, body = delivery
        _check_delivery(org, sample_id, body, django_capture_on_commit_callbacks)

    check()
