"""Production settings: a clean `check --deploy`, and a clear error when a mandatory value is missing."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k3y-" + "x7Qp9-Zr2!vLm8#Tw4@Nd6$Hs1^Bc5&Jf0*Gy3(Ua" * 2,
    "ALLOWED_HOSTS": "attribution.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/attribution",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "FIELD_ENCRYPTION_KEY": "b0C7Lw3oQm3Xb8s7tQJm0m1wq3zq5a3vT0xk3m7Zr9U=",
    "EMAIL_URL": "smtp+tls://mailer:mail-pass@smtp.example.com:587",
}


def _manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_reports_nothing_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "DEBUG", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG=0" in result.stderr


def test_production_refuses_to_start_without_an_encryption_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "FIELD_ENCRYPTION_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY must be set" in result.stderr


def test_production_refuses_to_start_with_the_console_email_backend():
    # Without EMAIL_URL the console backend would print password-reset links into the log.
    env = {k: v for k, v in PRODUCTION.items() if k != "EMAIL_URL"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured: EMAIL_URL must be set when DEBUG=0" in result.stderr


def test_production_refuses_a_console_email_backend_set_by_name():
    env = {
        **PRODUCTION,
        "EMAIL_URL": "",
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
    }
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "EMAIL_URL must be set when DEBUG=0" in result.stderr


def test_production_sends_email_over_smtp_from_email_url():
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, **PRODUCTION, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.com",
        "587",
        "True",
    ], result.stderr


def _settings_print(expression: str, env: dict[str, str]) -> str:
    script = (
        f"import django; django.setup(); from django.conf import settings as s; print({expression})"
    )
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_production_enforces_the_content_security_policy():
    expression = "bool(s.CONTENT_SECURITY_POLICY), bool(s.CONTENT_SECURITY_POLICY_REPORT_ONLY)"
    assert _settings_print(expression, PRODUCTION) == "True False"


def test_csp_report_only_sends_the_same_policy_as_a_report():
    expression = "s.CONTENT_SECURITY_POLICY, s.CONTENT_SECURITY_POLICY_REPORT_ONLY['DIRECTIVES']['script-src']"
    printed = _settings_print(expression, {**PRODUCTION, "CSP_REPORT_ONLY": "1"})
    assert printed == "None [\"'self'\", csp.constants.NONCE]"


def test_with_no_environment_the_app_runs_on_sqlite_with_eager_tasks():
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG)"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION and k != "CELERY_TASK_ALWAYS_EAGER"
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True", "True"], result.stderr
