"""Batch resolver and its CLI: the same rules over a whole file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_a_phone_does_not_chain_two_emails_without_a_name() -> None:
    rows = records(
        {"email": "jane@acme.io", "phone": "+14155550132", "full_name": "Jane Doe"},
        {"email": "someone@gmail.com", "phone": "+14155550132"},
    )
    assert groups(rows) == [{0}, {1}]


def test_a_record_joins_the_clusters_of_each_identifier_it_carries() -> None:
    rows = records(
        {"email": "jane@acme.io", "full_name": "Jane Doe", "created_at": "2025-01-01T00:00:00"},
        {"phone": "+14155550132", "full_name": "Jane Doe", "created_at": "2025-01-02T00:00:00"},
        {"email": "jane@acme.io", "phone": "+14155550132", "created_at": "2025-01-03T00:00:00"},
    )
    assert groups(rows) == [{0, 1, 2}]


def test_namesakes_with_different_phones_in_one_campaign_and_week_stay_apart() -> None:
    rows = records(
        *(
            {"full_name": "John Smith", "phone": phone, "utm_campaign": "webinar_1",
             "created_at": f"2025-01-0{day}T10:00:00", **extra}
            for day, (phone, extra) in enumerate(
                [("+14155550132", {"email": "js@gmail.com"}), ("+447911123456", {}),
                 ("+4915112345678", {}), ("+14155550132", {})], start=1
            )
        )
    )  # fmt: skip
    assert groups(rows) == [{0, 3}, {1}, {2}]


def test_placeholder_emails_never_merge_anyone() -> None:
    rows = records(
        *({"email": junk, "full_name": name}
          for junk in ("test@test.com", "none@none.com")
          for name in ("Ann Lee", "Bo Chen", "Cara Diaz"))
    )  # fmt: skip
    assert len(groups(rows)) == 6


def test_campaign_and_time_alone_never_merge() -> None:
    rows = records(
        {"full_name": "Jane Doe", "utm_campaign": "vsl", "created_at": "2025-01-01T10:00:00"},
        {"full_name": "Jane Doe", "utm_campaign": "vsl", "created_at": "2025-01-01T11:00:00"},
    )
    resolution = resolve(rows)
    assert resolution.cluster_of == (0, 1)


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


_ROWS = st.fixed_dictionaries(
    {
        "email": st.sampled_from([None, "jane@acme.io", "JANE@acme.io ", "j.doe@gmail.com",
                                  "jdoe@gmail.com", "test@test.com", "bo@gmail.com"]),
        "phone": st.sampled_from([None, "+14155550132", "(415) 555-0132", "+447911123456",
                                  "+4915112345678"]),
        "full_name": st.sampled_from([None, "Jane Doe", "Doe, Jane", "Bo Chen", "Jane Smith"]),
        "company": st.sampled_from([None, "Acme", "Globex"]),
        "utm_campaign": st.sampled_from([None, "vsl"]),
    }
)  # fmt: skip


def _partition(rows: list[PersonRecord], order: list[int]) -> set[frozenset[str]]:
    permuted = [rows[i] for i in order]
    by_cluster: dict[int, set[str]] = {}
    for record, cluster in zip(permuted, resolve(permuted).cluster_of, strict=True):
        by_cluster.setdefault(cluster, set()).add(record.record_id)
    return {frozenset(ids) for ids in by_cluster.values()}


@given(rows=st.lists(_ROWS, min_size=1, max_size=12), data=st.data())
@settings(max_examples=150, deadline=None)
def test_the_clusters_do_not_depend_on_the_order_of_the_file(rows, data) -> None:
    # Records are resolved in time order, so a file listing them in any order clusters alike.
    dated = records(
        *({**row, "created_at": f"2025-01-01T00:{i:02d}:00"} for i, row in enumerate(rows))
    )
    order = data.draw(st.permutations(list(range(len(dated)))))
    assert _partition(dated, order) == _partition(dated, list(range(len(dated))))


@given(rows=st.lists(_ROWS, min_size=1, max_size=12), data=st.data())
@settings(max_examples=150, deadline=None)
def test_records_with_one_personal_email_always_share_a_cluster(rows, data) -> None:
    undated = records(*rows)
    order = data.draw(st.permutations(list(range(len(undated)))))
    permuted = [undated[i] for i in order]
    resolution = resolve(permuted)
    cluster_of_email: dict[str, int] = {}
    for record, cluster in zip(permuted, resolution.cluster_of, strict=True):
        email = record_keys(record).personal_email
        if email is None or email.value in resolution.shared:
            continue
        assert cluster_of_email.setdefault(email.value, cluster) == cluster
