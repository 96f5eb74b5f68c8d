"""Test settings: real PostgreSQL and Redis (as in production), fast hashing, in-memory email."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/attribution")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
# Each pytest-xdist worker gets its own Redis database (15, 14, ...): a test that clears the
# cache or drains a queue must not reach into the tests running beside it.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ["REDIS_URL"].rsplit("/", 1)[-1].isdigit():
    _base, _db = os.environ["REDIS_URL"].rsplit("/", 1)
    os.environ["REDIS_URL"] = f"{_base}/{(int(_db) - int(_worker[2:])) % 16}"
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")

from config.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False
CELERY_TASK_EAGER_PROPAGATES = True
# Tests run eager tasks where they are called, inside the test's transaction; the thread path
# has tests of its own that turn it on.
EAGER_TASKS_IN_THREAD = False
ACCOUNT_RATE_LIMITS = False
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Page workers are separate processes, out of reach of a test's monkeypatches and barriers; the
# tests of page workers turn them on.
SYNC_PAGE_WORKERS = 1
