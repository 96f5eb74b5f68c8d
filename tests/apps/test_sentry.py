"""Sentry (issue 25): off without a DSN; what it would send holds no person."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from config import sentry
from tests.apps.test_settings import PRODUCTION, ROOT

PERSON = ("ada.byrne@example.com", "+1 (415) 555-1999", "sessionid=s3cr3t", "Ada Byrne")


def event() -> dict:
    return {
        "message": "no contact for ada.byrne@example.com",
        "logentry": {
            "message": "lookup %s failed",
            "formatted": "lookup +1 (415) 555-1999 failed",
            "params": ["+1 (415) 555-1999", {"who": "ada.byrne@example.com"}],
        },
        "request": {
            "url": "https://app.example.com/contacts/?q=ada.byrne@example.com",
            "method": "POST",
            "data": {"name": "Ada Byrne"},
            "cookies": {"sessionid": "s3cr3t"},
            "query_string": "q=ada.byrne%40example.com",
            "env": {"REMOTE_ADDR": "203.0.113.9"},
            "headers": {
                "Cookie": "sessionid=s3cr3t",
                "Authorization": "Bearer tok",
                "Calendly-Webhook-Signature": "t=1,v1=abc",
                "User-Agent": "Calendly-Webhooks",
                "X-Request-ID": "abc123",
            },
        },
        "user": {"id": 7, "email": "ada.byrne@example.com", "username": "ada", "ip_address": "x"},
        "exception": {
            "values": [
                {
                    "type": "ValidationError",
                    "value": "<ada.byrne@example.com> is not valid",
                    "stacktrace": {"frames": [{"function": "f", "vars": {"n": "Ada Byrne"}}]},
                }
            ]
        },
        "breadcrumbs": {"values": [{"message": "mail to ada.byrne@example.com", "data": {}}]},
        "tags": {"org": "acme"},
    }


def test_the_scrubber_leaves_no_email_phone_body_cookie_or_header_outside_the_safe_list():
    scrubbed = sentry.scrub(event(), {})
    text = json.dumps(scrubbed)
    assert [value for value in PERSON if value in text] == []
    assert "Bearer" not in text and "v1=abc" not in text
    assert scrubbed["request"]["headers"] == {
        "User-Agent": "Calendly-Webhooks",
        "X-Request-ID": "abc123",
    }
    assert {"data", "cookies", "query_string", "env"}.isdisjoint(scrubbed["request"])
    assert scrubbed["user"] == {"id": 7}
    # What is not personal survives, so the event is still worth reading.
    assert scrubbed["message"] == "no contact for [redacted]"
    assert scrubbed["logentry"]["formatted"] == "lookup [redacted] failed"
    assert scrubbed["exception"]["values"][0]["type"] == "ValidationError"
    assert scrubbed["tags"] == {"org": "acme"} and scrubbed["request"]["method"] == "POST"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call +14155551999 now", "call [redacted] now"),
        ("call 415.555.1999", "call [redacted]"),
        ("x a.b+c@mail.example.co.uk y", "x [redacted] y"),
        ("event 4821 on 2026-03-31 for org 12", "event 4821 on 2026-03-31 for org 12"),
    ],
)
def test_masking_takes_emails_and_phone_numbers_and_keeps_ids_and_dates(text, masked):
    assert sentry.mask(text) == masked


def test_without_a_dsn_the_sdk_is_not_started(monkeypatch):
    import sentry_sdk

    calls = []
    monkeypatch.setattr(sentry_sdk, "init", lambda **kw: calls.append(kw))
    assert sentry.sentry_init(dsn="", environment="production", release="r1") is False
    assert calls == []
    assert sentry.sentry_init(dsn="https://k@o1.ingest.sentry.io/1", environment="e", release="r")
    [options] = calls
    assert options["send_default_pii"] is False
    assert options["before_send"] is sentry.scrub
    assert (options["environment"], options["release"]) == ("e", "r")
    assert {type(i).__name__ for i in options["integrations"]} == {
        "DjangoIntegration",
        "CeleryIntegration",
    }


def _settings_probe(env: dict[str, str]) -> dict:
    script = (
        "import json, django; django.setup()\n"
        "import sentry_sdk\n"
        "from django.conf import settings\n"
        "client = sentry_sdk.get_client()\n"
        "print(json.dumps({'format': settings.LOG_FORMAT, 'sentry': client.is_active(),\n"
        "  'release': client.options.get('release'),"
        " 'environment': client.options.get('environment')}))\n"
    )
    clean = {k: v for k, v in __import__("os").environ.items() if not k.startswith("SENTRY_")}
    clean.pop("LOG_FORMAT", None)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_production_logs_json_and_reports_to_sentry_only_with_a_dsn():
    assert _settings_probe(PRODUCTION) == {
        "format": "json",
        "sentry": False,
        "release": None,
        "environment": None,
    }
    started = _settings_probe(
        {
            **PRODUCTION,
            "SENTRY_DSN": "https://key@o1.ingest.sentry.io/1",
            "SENTRY_RELEASE": "2026.12.04",
        }
    )
    assert started == {
        "format": "json",
        "sentry": True,
        "release": "2026.12.04",
        "environment": "production",
    }


def test_development_keeps_text_logs_and_log_format_overrides():
    assert _settings_probe({"DEBUG": "1"})["format"] == "text"
    assert _settings_probe({**PRODUCTION, "LOG_FORMAT": "text"})["format"] == "text"
