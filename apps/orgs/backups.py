"""Database dumps with pg_dump and restores with pg_restore, for the backup and restore commands.

The connection parameters go to the client programs as libpq environment variables, never on
their command line, where any user of the machine could read the password (``ps``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.db import connections

# libpq's names for Django's connection settings (and the OPTIONS psycopg passes on).
_ENVIRONMENT = {"NAME": "PGDATABASE", "USER": "PGUSER", "PASSWORD": "PGPASSWORD"}
_ENVIRONMENT |= {"HOST": "PGHOST", "PORT": "PGPORT"}
_OPTIONS = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT"}
_OPTIONS |= {"sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT"}


class BackupError(Exception):
    pass


def libpq_environment(alias: str = "default") -> dict[str, str]:
    database = settings.DATABASES[alias]
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise BackupError("backups need PostgreSQL (DATABASE_URL=postgres://...)")
    # The operator's own libpq settings (PGSSLMODE, PGSERVICEFILE...) still apply; Django's win.
    env = dict(os.environ)
    for key, name in _ENVIRONMENT.items():
        if database.get(key):
            env[name] = str(database[key])
    for key, name in _OPTIONS.items():
        if database.get("OPTIONS", {}).get(key):
            env[name] = str(database["OPTIONS"][key])
    return env


def _program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        # libpq's messages name the host and database, never the password.
        raise BackupError(f"{Path(argv[0]).name} failed: {done.stderr.strip()}")


def database_dump(*, path: Path, alias: str = "default") -> None:
    """A custom-format dump of the database at ``path``, which appears only once complete."""
    partial = path.with_name(path.name + ".partial")
    try:
        _run(
            [_program("pg_dump"), "--format=custom", f"--file={partial}"], libpq_environment(alias)
        )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def database_is_empty(alias: str = "default") -> bool:
    """Whether the database holds no table, view or sequence outside PostgreSQL's own schemas."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%%'"
        )
        return cursor.fetchone()[0] == 0


def database_restore(*, dump: Path, alias: str = "default") -> None:
    """Restores ``dump`` into the (empty) database in one transaction: a failure leaves it empty.

    Owners and grants are the restoring role's: the database host the dump is restored on need
    not have the roles of the one it was taken on."""
    connections[alias].close()
    _run(
        [
            _program("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={settings.DATABASES[alias]['NAME']}",
            str(dump),
        ],
        libpq_environment(alias),
    )
