"""Batch resolver and its CLI: the same rules over a whole file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from attribution.identity.cluster import find_shared_values, resolve
from attribution.identity.match import PersonRecord, record_keys

ROOT = Path(__file__).resolve().parents[3]


def records(*rows: dict[str, object]) -> list[PersonRecord]:
    return [PersonRecord.from_dict({"record_id": f"r{i}", **row}) for i, row in enumerate(rows)]


def groups(rows: list[PersonRecord]) -> list[set[int]]:
    resolution = resolve(rows)
    by_cluster: dict[int, set[int]] = {}
    for i, cluster in enumerate(resolution.cluster_of):
        by_cluster.setdefault(cluster, set()).add(i)
    return sorted(by_cluster.values(), key=min)


def test_an_office_phone_shared_by_five_people_does_not_merge_them() -> None:
    names = ["Ann Lee", "Bo Chen", "Cara Diaz", "Dev Patel", "Eli Stone"]
    rows = records(
        *(
            {"full_name": name, "email": f"{name.split()[0].lower()}@gmail.com",
             "phone": "+1 212 555 0100 ext. " + str(10 + i)}
            for i, name in enumerate(names)
        )
    )  # fmt: skip
    assert "+12125550100" in resolve(rows).shared
    assert len(groups(rows)) == 5


def test_a_phone_of_three_people_is_still_evidence() -> None:
    keys = [
        record_keys(r)
        for r in records(
            {"email": "a@x.io", "phone": "+12125550100"},
            {"email": "b@x.io", "phone": "+12125550100"},
            {"email": "c@x.io", "phone": "+12125550100"},
        )
    ]
    assert find_shared_values(keys, share_limit=3) == frozenset()


def test_it_does_not_chain_two_emails_through_a_phone_only_record() -> None:
    rows = records(
        {"email": "jane@acme.io", "phone": "+14155550132", "full_name": "Jane Doe"},
        {"phone": "415 555 0132", "full_name": "Jane Doe"},
        {"email": "jane.doe@gmail.com", "phone": "+14155550132", "full_name": "Jane Doe"},
    )
    assert groups(rows) == [{0, 1}, {2}]


def test_it_merges_one_person_across_sources() -> None:
    rows = records(
        {"source": "typeform", "email": "Bob.Smith@gmail.com ", "phone": "(415) 555-0132",
         "first_name": "Bob", "last_name": "Smith", "created_at": "2025-03-01T10:00:00Z"},
        {"source": "calendly", "email": "bobsmith+cal@gmail.com", "full_name": "Robert Smith",
         "created_at": "2025-03-01T11:00:00Z"},
        {"source": "close", "phone": "+1 415-555-0132", "full_name": "Smith, Robert",
         "company": "Globex"},
        {"source": "stripe", "full_name": "Robert Smith", "company": "Globex Inc"},
    )  # fmt: skip
    assert groups(rows) == [{0, 1, 2, 3}]


def test_namesakes_stay_apart() -> None:
    rows = records(
        {"full_name": "John Smith", "email": "js1@gmail.com", "created_at": "2025-01-01T00:00:00"},
        {"full_name": "John Smith", "email": "js2@yahoo.com", "created_at": "2025-03-01T00:00:00"},
        {"full_name": "John Smith", "phone": "+442079460958", "country": "GB"},
    )
    assert len(groups(rows)) == 3


def _run_cli(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "attribution.identity.cluster", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_cli_writes_one_cluster_line_per_record(tmp_path: Path) -> None:
    lines = [
        {"record_id": "a", "email": "jane@acme.io", "source": "typeform"},
        {"record_id": "b", "email": " JANE@acme.io", "phone": None},
        {"record_id": "c", "email": "mark@twain.org"},
        {"record_id": 4},
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    result = _run_cli(path)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["record_id"] for row in out] == ["a", "b", "c", 4]
    cluster = {row["record_id"]: row["cluster_id"] for row in out}
    assert cluster["a"] == cluster["b"] != cluster["c"]
    assert cluster[4] == 4


def test_the_cli_rejects_a_bad_line_with_its_number_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"record_id": "a"}\n{"record_id": "b", "email": \n', encoding="utf-8")
    result = _run_cli(path)
    assert result.returncode != 0
    assert result.stdout == ""
    assert f"{path}:2: not valid JSON" in result.stderr


def test_the_cli_rejects_a_line_without_a_record_id(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"record_id": "a"}\n["not", "an", "object"]\n', encoding="utf-8")
    result = _run_cli(path)
    assert result.returncode != 0 and result.stdout == ""
    assert ":2: expected a JSON object" in result.stderr
    path.write_text('{"email": "a@b.io"}\n', encoding="utf-8")
    assert ":1: record_id is missing" in _run_cli(path).stderr


def test_the_cli_rejects_a_duplicate_record_id(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"record_id": "a"}\n{"record_id": "a"}\n', encoding="utf-8")
    result = _run_cli(path)
    assert result.returncode != 0 and ":2: duplicate record_id" in result.stderr


def test_the_cli_reports_a_missing_file(tmp_path: Path) -> None:
    result = _run_cli(tmp_path / "missing.jsonl")
    assert result.returncode != 0 and "cannot read input" in result.stderr
