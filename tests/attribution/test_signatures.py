"""Given a body signed the provider's way, when it is verified, then only genuine fresh bodies pass."""

from __future__ import annotations

import ast
import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from attribution import signatures as sig
from attribution.signatures import SignatureError

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
TS = int(NOW.timestamp())
BODY = b'{"event":"x","payload":{"name":"Zo\xc3\xab"}}'


@dataclass(frozen=True)
class Scheme:
    name: str
    secret: str
    other_secret: str
    sign: Callable[..., dict[str, str]]
    verify: Callable[..., None]
    tolerance: int | None  # None: the scheme carries no timestamp

    def headers(self, *, secret: str | None = None, body: bytes = BODY, ts: int = TS):
        return self.sign(secret=secret or self.secret, body=body, timestamp=ts)

    def check(self, *, secrets, headers: Mapping[str, str], body: bytes = BODY, now=NOW, **kw):
        if self.tolerance is None:
            return self.verify(secrets=secrets, headers=headers, body=body, **kw)
        return self.verify(secrets=secrets, headers=headers, body=body, now=now, **kw)


def _typeform_sign(*, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return sig.sign_typeform(secret=secret, body=body)


def _close_sign(*, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return sig.sign_close(signature_key=secret, body=body, timestamp=timestamp)


def _whop_sign(*, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return sig.sign_whop(secret=secret, body=body, msg_id="msg_2yQm8Xk1sample", timestamp=timestamp)


SCHEMES = [
    Scheme("calendly", "cal-key-1", "cal-key-2", sig.sign_calendly, sig.verify_calendly, 180),
    Scheme("typeform", "tf-secret-1", "tf-secret-2", _typeform_sign, sig.verify_typeform, None),
    Scheme("close", "0a1b2c3d" * 8, "ffeeddcc" * 8, _close_sign, sig.verify_close, 300),
    Scheme("stripe", "whsec_test_one", "whsec_test_two", sig.sign_stripe, sig.verify_stripe, 300),
    Scheme("whop", "ws_raw_secret_one", "ws_raw_secret_two", _whop_sign, sig.verify_whop, 300),
]
TIMED = [s for s in SCHEMES if s.tolerance is not None]


def _ids(scheme: Scheme) -> str:
    return scheme.name


def _reason(excinfo: pytest.ExceptionInfo[SignatureError]) -> str:
    return excinfo.value.reason


@pytest.mark.parametrize("scheme", SCHEMES, ids=_ids)
def test_it_accepts_a_valid_signature(scheme: Scheme) -> None:
    scheme.check(secrets=[scheme.secret], headers=scheme.headers())


@pytest.mark.parametrize("scheme", SCHEMES, ids=_ids)
def test_it_accepts_a_single_secret_given_as_a_string(scheme: Scheme) -> None:
    scheme.check(secrets=scheme.secret, headers=scheme.headers())


@pytest.mark.parametrize("scheme", SCHEMES, ids=_ids)
def test_it_reads_headers_whatever_their_case(scheme: Scheme) -> None:
    upper = {k.upper(): v for k, v in scheme.headers().items()}
    lower = {k.lower(): v for k, v in scheme.headers().items()}
    scheme.check(secrets=[scheme.secret], headers=upper)
    scheme.check(secrets=[scheme.secret], headers=lower)


@pytest.mark.parametrize("scheme", SCHEMES, ids=_ids)
def test_it_rejects_a_signature_made_with_another_secret(scheme: Scheme) -> None:
    with pytest.raises(SignatureError) as excinfo:
        scheme.check(secrets=[scheme.secret], headers=scheme.headers(secret=scheme.other_secret))
    assert _reason(excinfo) == "mismatch"


@pytest.mark.parametrize("scheme", SCHEMES, ids=_ids)
def test_it_rejects_a_tampered_body(scheme: Scheme) -> None:
    with pytest.raises(SignatureError) as excinfo:
        scheme.check(secrets=[scheme.secret], headers=scheme.headers(), body=BODY + b" ")
    assert _reason(excinfo) == "mismatch"


@pytest.mark.parametrize("scheme", SCHEMES, ids=_ids)
def test_it_reports_missing_headers(scheme: Scheme) -> None:
    with pytest.raises(SignatureError) as excinfo:
        scheme.check(secrets=[scheme.secret], headers={"Content-Type": "application/json"})
    assert _reason(excinfo) == "missing"


@pytest.mark.parametrize("scheme", SCHEMES, ids=_ids)
def test_it_reports_an_empty_header_as_missing(scheme: Scheme) -> None:
    headers = dict.fromkeys(scheme.headers(), "")
    with pytest.raises(SignatureError) as excinfo:
        scheme.check(secrets=[scheme.secret], headers=headers)
    assert _reason(excinfo) == "missing"


@pytest.mark.parametrize("scheme", [s for s in SCHEMES if len(s.headers()) > 1], ids=_ids)
@pytest.mark.parametrize("dropped", [0, -1], ids=["first", "last"])
def test_it_reports_a_partial_header_set_as_missing(scheme: Scheme, dropped: int) -> None:
    headers = scheme.headers()
    headers.pop(list(headers)[dropped])
    with pytest.raises(SignatureError) as excinfo:
        scheme.check(secrets=[scheme.secret], headers=headers)
    assert _reason(excinfo) == "missing"


MALFORMED = {
    "calendly": [
        {"Calendly-Webhook-Signature": "garbage"},
        {"Calendly-Webhook-Signature": f"t={TS}"},
        {"Calendly-Webhook-Signature": "t=soon,v1=abcd"},
        {"Calendly-Webhook-Signature": f"t={TS},v1=not-hex"},
    ],
    "typeform": [
        {"Typeform-Signature": "garbage"},
        {"Typeform-Signature": "sha1=AAAA"},
        {"Typeform-Signature": "sha256=***"},
        {"Typeform-Signature": "sha256=" + base64.b64encode(b"short").decode()},
    ],
    "close": [
        {"close-sig-hash": "zz", "close-sig-timestamp": str(TS)},
        {"close-sig-hash": "ab" * 32, "close-sig-timestamp": "yesterday"},
    ],
    "stripe": [
        {"Stripe-Signature": "garbage"},
        {"Stripe-Signature": f"t={TS},v0=abcd"},
        {"Stripe-Signature": "t=x,v1=abcd"},
    ],
    "whop": [
        {"webhook-id": "msg_1", "webhook-timestamp": str(TS), "webhook-signature": "v1"},
        {"webhook-id": "msg_1", "webhook-timestamp": str(TS), "webhook-signature": "v1,@@"},
        {"webhook-id": "msg_1", "webhook-timestamp": str(TS), "webhook-signature": "v2,AAAA"},
        {"webhook-id": "msg_1", "webhook-timestamp": "1.5e9", "webhook-signature": "v1,AAAA"},
    ],
}


@pytest.mark.parametrize(
    ("scheme", "headers"),
    [(s, h) for s in SCHEMES for h in MALFORMED[s.name]],
    ids=lambda v: v.name if isinstance(v, Scheme) else "",
)
def test_it_reports_a_malformed_header(scheme: Scheme, headers: dict[str, str]) -> None:
    with pytest.raises(SignatureError) as excinfo:
        scheme.check(secrets=[scheme.secret], headers=headers)
    assert _reason(excinfo) == "malformed"


@pytest.mark.parametrize("scheme", TIMED, ids=_ids)
@pytest.mark.parametrize("direction", [-1, 1], ids=["past", "future"])
def test_it_rejects_a_stale_signature(scheme: Scheme, direction: int) -> None:
    assert scheme.tolerance is not None
    headers = scheme.headers(ts=TS + direction * (scheme.tolerance + 1))
    with pytest.raises(SignatureError) as excinfo:
        scheme.check(secrets=[scheme.secret], headers=headers)
    assert _reason(excinfo) == "stale"


@pytest.mark.parametrize("scheme", TIMED, ids=_ids)
@pytest.mark.parametrize("direction", [-1, 1], ids=["past", "future"])
def test_it_accepts_a_timestamp_at_the_edge_of_the_tolerance(scheme: Scheme, direction: int):
    assert scheme.tolerance is not None
    headers = scheme.headers(ts=TS + direction * scheme.tolerance)
    scheme.check(secrets=[scheme.secret], headers=headers)


@pytest.mark.parametrize("scheme", TIMED, ids=_ids)
def test_the_tolerance_is_configurable(scheme: Scheme) -> None:
    headers = scheme.headers(ts=TS - 1000)
    scheme.check(secrets=[scheme.secret], headers=headers, tolerance=1000)
    with pytest.raises(SignatureError) as excinfo:
        scheme.check(secrets=[scheme.secret], headers=headers, tolerance=999)
    assert _reason(excinfo) == "stale"


@pytest.mark.parametrize("scheme", TIMED, ids=_ids)
def test_a_forged_stale_signature_is_a_mismatch_not_stale(scheme: Scheme) -> None:
    headers = scheme.headers(secret=scheme.other_secret, ts=TS - 10_000)
    with pytest.raises(SignatureError) as excinfo:
        scheme.check(secrets=[scheme.secret], headers=headers)
    assert _reason(excinfo) == "mismatch"


@pytest.mark.parametrize("scheme", SCHEMES, ids=_ids)
def test_it_accepts_either_secret_during_a_rotation(scheme: Scheme) -> None:
    rotation = [scheme.secret, scheme.other_secret]
    scheme.check(secrets=rotation, headers=scheme.headers(secret=scheme.secret))
    scheme.check(secrets=rotation, headers=scheme.headers(secret=scheme.other_secret))
    scheme.check(
        secrets=["", scheme.other_secret], headers=scheme.headers(secret=scheme.other_secret)
    )


@pytest.mark.parametrize("scheme", SCHEMES, ids=_ids)
def test_no_configured_secret_is_a_setup_error_not_a_signature_error(scheme: Scheme) -> None:
    with pytest.raises(ValueError, match="no webhook secret"):
        scheme.check(secrets=[], headers=scheme.headers())


@pytest.mark.parametrize("scheme", SCHEMES, ids=_ids)
def test_the_error_never_carries_the_secret(scheme: Scheme) -> None:
    with pytest.raises(SignatureError) as excinfo:
        scheme.check(secrets=[scheme.secret], headers=scheme.headers(secret=scheme.other_secret))
    rendered = f"{excinfo.value!s} {excinfo.value!r} {excinfo.value.args}"
    assert scheme.secret not in rendered
    assert scheme.other_secret not in rendered


def test_calendly_accepts_several_v1_entries() -> None:
    good = sig.sign_calendly(secret="k", body=BODY, timestamp=TS)["Calendly-Webhook-Signature"]
    header = f"{good},v1={'00' * 32}"
    sig.verify_calendly(
        secrets=["k"], headers={"Calendly-Webhook-Signature": header}, body=BODY, now=NOW
    )


def test_calendly_signs_timestamp_dot_body_as_documented() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    header = sig.sign_calendly(secret="k", body=BODY, timestamp=TS)["Calendly-Webhook-Signature"]
    assert header == f"t={TS},v1={expected}"


def test_close_signs_timestamp_then_body_with_the_hex_decoded_key() -> None:
    import hashlib
    import hmac

    key = "0a1b2c3d" * 8
    expected = hmac.new(bytes.fromhex(key), str(TS).encode() + BODY, hashlib.sha256).hexdigest()
    assert sig.sign_close(signature_key=key, body=BODY, timestamp=TS)["close-sig-hash"] == expected


def test_close_rejects_a_key_that_is_not_hex_without_echoing_it() -> None:
    headers = sig.sign_close(signature_key="ab" * 32, body=BODY, timestamp=TS)
    with pytest.raises(ValueError, match="must be hex") as excinfo:
        sig.verify_close(secrets=["not-a-hex-key"], headers=headers, body=BODY, now=NOW)
    assert "not-a-hex-key" not in str(excinfo.value)


def test_typeform_signs_the_raw_body_only() -> None:
    import hashlib
    import hmac

    digest = hmac.new(b"s", BODY, hashlib.sha256).digest()
    expected = "sha256=" + base64.b64encode(digest).decode()
    assert sig.sign_typeform(secret="s", body=BODY)["Typeform-Signature"] == expected


def test_stripe_signature_is_what_the_stripe_library_accepts() -> None:
    import stripe

    headers = sig.sign_stripe(secret="whsec_abc", body=BODY, timestamp=TS)
    assert stripe.WebhookSignature.verify_header(BODY, headers["Stripe-Signature"], "whsec_abc")


def test_whop_uses_its_secret_as_raw_key_bytes() -> None:
    import hashlib
    import hmac

    secret = "ws_raw_secret_one"
    headers = sig.sign_whop(secret=secret, body=BODY, msg_id="msg_1", timestamp=TS)
    mac = hmac.new(secret.encode(), f"msg_1.{TS}.".encode() + BODY, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()


def test_whop_accepts_a_standard_webhooks_secret_as_is() -> None:
    import standardwebhooks

    secret = "whsec_" + base64.b64encode(b"0123456789abcdef01234567").decode()
    headers = sig.sign_whop(secret=secret, body=BODY, msg_id="msg_1", timestamp=TS)
    sig.verify_whop(secrets=[secret], headers=headers, body=BODY, now=NOW)
    expected = standardwebhooks.Webhook(secret).sign(
        msg_id="msg_1", timestamp=datetime.fromtimestamp(TS, tz=UTC), data=BODY.decode()
    )
    assert headers["webhook-signature"] == expected


def test_whop_accepts_a_rotation_header_with_several_signatures() -> None:
    old = sig.sign_whop(secret="old", body=BODY, msg_id="m", timestamp=TS)
    new = sig.sign_whop(secret="new", body=BODY, msg_id="m", timestamp=TS)
    headers = dict(
        new, **{"webhook-signature": f"{old['webhook-signature']} {new['webhook-signature']}"}
    )
    sig.verify_whop(secrets=["new"], headers=headers, body=BODY, now=NOW)


def test_whop_signature_covers_the_message_id() -> None:
    headers = sig.sign_whop(secret="s", body=BODY, msg_id="msg_1", timestamp=TS)
    headers["webhook-id"] = "msg_2"
    with pytest.raises(SignatureError) as excinfo:
        sig.verify_whop(secrets=["s"], headers=headers, body=BODY, now=NOW)
    assert _reason(excinfo) == "mismatch"


def test_a_naive_now_is_refused() -> None:
    headers = sig.sign_calendly(secret="k", body=BODY, timestamp=TS)
    with pytest.raises(ValueError, match="timezone-aware"):
        sig.verify_calendly(secrets=["k"], headers=headers, body=BODY, now=NOW.replace(tzinfo=None))


def test_now_defaults_nowhere_so_time_machine_is_not_needed() -> None:
    # Verification is a pure function of its arguments: an hour later the same call is stale.
    headers = sig.sign_close(signature_key="ab" * 32, body=BODY, timestamp=TS)
    sig.verify_close(secrets=["ab" * 32], headers=headers, body=BODY, now=NOW)
    with pytest.raises(SignatureError):
        sig.verify_close(
            secrets=["ab" * 32], headers=headers, body=BODY, now=NOW + timedelta(hours=1)
        )


def test_signatures_module_imports_no_django() -> None:
    root = Path(__file__).resolve().parents[2] / "attribution"
    for path in [
        root / "signatures.py",
        *root.glob("sources/*.py"),
        *root.glob("kpis/*.py"),
        *root.glob("touch/*.py"),
    ]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top not in {"django", "requests", "httpx", "psycopg", "redis", "celery"}, (
                    f"{path.name} imports {name}"
                )
