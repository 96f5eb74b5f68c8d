"""Issue 17: a password-reset link's key never reaches a log, the access log included."""

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from config.log_redaction import RedactResetKeys

ROOT = Path(__file__).resolve().parents[2]
KEY = "4-c9x2k7-5f1e0a9b3d8c7e6f5a4b3c2d1e0f9a8b"
RESET_PATH = f"/accounts/password/reset/key/{KEY}/"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorns_access_log_never_shows_a_reset_key(tmp_path):
    port = _free_port()
    access_log = tmp_path / "access.log"
    # The same command as the Dockerfile's, from the directory holding gunicorn.conf.py.
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            str(access_log),
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except OSError:  # not listening yet, or still loading the app
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        with contextlib.suppress(urllib.error.HTTPError):  # whatever the answer, it is logged
            urllib.request.urlopen(f"http://127.0.0.1:{port}{RESET_PATH}", timeout=10)
        deadline = time.monotonic() + 10
        while "/password/reset/key/" not in access_log.read_text():
            assert time.monotonic() < deadline, access_log.read_text()
            time.sleep(0.1)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    logged = access_log.read_text()
    assert "/accounts/password/reset/key/[redacted]/" in logged
    assert KEY not in logged
    assert KEY not in output  # gunicorn's and Django's own log lines


def test_django_log_lines_quoting_a_reset_link_are_redacted():
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", (RESET_PATH,), None
    )
    assert RedactResetKeys().filter(record) is True
    assert record.getMessage() == "Not Found: /accounts/password/reset/key/[redacted]/"


def test_other_log_lines_are_left_alone():
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/calls/12/",), None
    )
    RedactResetKeys().filter(record)
    assert record.getMessage() == "Not Found: /calls/12/"


def test_an_exception_quoting_a_reset_link_is_redacted():
    try:
        raise ValueError(f"no such key: {RESET_PATH}")
    except ValueError:
        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "boom", None, sys.exc_info()
        )
    RedactResetKeys().filter(record)
    formatted = logging.Formatter().format(record)
    assert KEY not in formatted
    assert "/password/reset/key/[redacted]/" in formatted


def test_a_json_line_of_an_exception_quoting_a_reset_link_is_redacted():
    from config.log_context import json_formatter

    try:
        raise ValueError(f"no such key: {RESET_PATH}")
    except ValueError:
        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "at %s", (RESET_PATH,), sys.exc_info()
        )
    RedactResetKeys().filter(record)
    line = json_formatter().format(record)
    assert KEY not in line
    assert "/password/reset/key/[redacted]/" in json.loads(line)["exc_info"]
