"""The registry: each provider declared once, in its own package; the modules around the
packages read it and name no provider themselves."""

import importlib.util
import re
from pathlib import Path

from apps.integrations import providers
from apps.integrations.providers import CREDENTIAL_NAMES, PROVIDERS, REGISTRY, provider_named

ROOT = Path(__file__).resolve().parents[3]
# Any provider's name in code or prose; "close" only where it is one (a string, a class name),
# not the verb of close() and closers.
NAMED = re.compile(r"(?i:calendly|typeform|stripe|whop|[\"']close[\"'.:])|\bClose\b")


def test_every_provider_is_one_package_and_its_parser():
    packages = Path(providers.__file__).parent
    for name, provider in REGISTRY.items():
        assert provider.name == name
        assert (packages / name / "__init__.py").is_file()
        assert importlib.util.find_spec(f"attribution.sources.{name}") is not None
        assert provider.syncer.provider == name
        assert provider.client.provider == name
        assert CREDENTIAL_NAMES[name] == (provider.api_credential, provider.signing_credential)
        assert provider.records, f"{name} declares no record handler"


def test_a_record_type_has_one_handler():
    types = [handler.record_type for p in REGISTRY.values() for handler in p.records]
    assert len(types) == len(set(types))


def test_an_unknown_name_is_no_provider():
    assert "manual" not in PROVIDERS
    assert provider_named("manual", default=None) is None


def test_no_module_around_the_packages_names_a_provider():
    shared = [
        path
        for path in (ROOT / "apps" / "integrations").rglob("*.py")
        if "providers" not in path.relative_to(ROOT / "apps" / "integrations").parts[:1]
        and "migrations" not in path.parts
    ]
    shared += list((ROOT / "config").glob("*.py"))
    naming = {
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in shared
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if NAMED.search(line)
    }
    assert naming == set()
