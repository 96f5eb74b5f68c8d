"""attribution.identity stays pure: no Django, no database, no network."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "attribution" / "identity"
FORBIDDEN = (
    "django", "rest_framework", "celery", "redis", "psycopg", "psycopg2", "sqlite3",
    "sqlalchemy", "requests", "httpx", "urllib", "http", "socket", "aiohttp", "stripe",
)  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_it_imports_no_framework_database_or_network_module(path: Path) -> None:
    assert not _imports(path) & set(FORBIDDEN)
