"""Provider sample payloads, copied from the shared fixtures into tests/fixtures/providers."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# tests/attribution/sources/conftest.py -> parents[2] is tests/.
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers"


def load_fixture(name: str) -> dict[str, Any]:
    """``load_fixture("stripe/charge.succeeded")``: a fresh copy each call, safe to mutate."""
    path = FIXTURES / f"{name.removesuffix('.json')}.json"
    return copy.deepcopy(json.loads(path.read_text()))


@pytest.fixture
def fixture() -> Callable[[str], dict[str, Any]]:
    return load_fixture
