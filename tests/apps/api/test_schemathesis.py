"""Acceptance 3: schemathesis, every check, against the API served live: no 5xx, no response
that breaks the schema, schema-violating input rejected, valid input accepted (see
schemathesis.toml beside this file for the state-dependent 400s it may see)."""

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from apps.api.services import ConversionInput, conversion_record
from tests.apps.api.helpers import workspace, workspace_key
from tests.factories import ContactFactory, DealFactory, MeetingFactory, PaymentFactory

CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_nothing(live_server, team_a, settings, tmp_path):
    settings.API_THROTTLE_KEY_RATE = settings.API_THROTTLE_ORG_RATE = "100000/m"
    ws = workspace(team_a)
    _, raw = workspace_key(team_a, ws=ws)
    contact = ContactFactory(org=team_a.org)
    MeetingFactory(org=team_a.org, contact=contact)
    DealFactory(org=team_a.org, contact=contact)
    PaymentFactory(org=team_a.org, contact=contact)
    conversion_record(
        org=team_a.org,
        workspace=ws,
        data=ConversionInput(contact_id=contact.pk, conversion_type="sale", conversion_value=1),
    )
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{live_server.url}/api/schema/",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {raw}",
        "--max-examples",
        "10",
        "--phases",
        "examples,fuzzing,stateful",
        "--seed",
        "21",
        "--workers",
        "2",
    ]
    started = time.monotonic()
    # In a temporary folder: schemathesis keeps a cache of its runs where it is started.
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=170, check=False, cwd=tmp_path
    )
    took = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-20000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert counts is not None, result.stdout[-3000:]
    assert int(counts[1]) >= 200 and counts[1] == counts[2], counts[0]
    # About 40 s on an idle 2-core machine; the bound leaves room for a busy one.
    assert took < 120, f"schemathesis took {took:.0f} s"
