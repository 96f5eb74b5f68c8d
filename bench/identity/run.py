"""Identity-resolution benchmark: exact-email baseline, our resolver (through its CLI), Splink.

    .venv/bin/python bench/identity/run.py --records 20000 --seed 7

Prints pairwise precision, recall, F1, over-merged clusters and records/second for each method,
the identifier ceiling (recall of linking every pair joined through any shared normalized email
or phone, guard rails ignored), and as its last line one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402
import generate_hard  # noqa: E402

from attribution.identity.match import FREE_EMAIL_DOMAINS, PersonRecord, record_keys  # noqa: E402
from attribution.identity.normalize import normalize_email, normalize_phone  # noqa: E402

# Records one identifier value may sit on before the plain resolver stops trusting it.
PLAIN_CAP = 10


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def score(labels: Sequence[object], truth: Sequence[int]) -> dict[str, float | int]:
    """Pairwise precision/recall/F1 of a clustering against the true person ids."""
    predicted = Counter(labels)
    actual = Counter(truth)
    both = Counter(zip(labels, truth, strict=True))
    true_positive = sum(_pairs(n) for n in both.values())
    predicted_pairs = sum(_pairs(n) for n in predicted.values())
    actual_pairs = sum(_pairs(n) for n in actual.values())
    people_per_cluster: dict[object, set[int]] = defaultdict(set)
    for label, person in zip(labels, truth, strict=True):
        people_per_cluster[label].add(person)
    precision = true_positive / predicted_pairs if predicted_pairs else 1.0
    recall = true_positive / actual_pairs if actual_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(f1, 5),
        "over_merged_clusters": sum(1 for people in people_per_cluster.values() if len(people) > 1),
        "clusters": len(predicted),
    }


def _union_find_labels(n: int, groups: Iterable[Iterable[int]]) -> list[int]:
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for group in groups:
        members = list(group)
        for other in members[1:]:
            a, b = find(members[0]), find(other)
            if a != b:
                parent[b] = a
    return [find(i) for i in range(n)]


def _groups_by(values: Sequence[str | None]) -> list[list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, value in enumerate(values):
        if value:
            groups[value].append(i)
    return list(groups.values())


def exact_email_baseline(rows: Sequence[dict]) -> list[int]:
    emails = [
        row["email"].strip().lower() if isinstance(row.get("email"), str) else None for row in rows
    ]
    return _union_find_labels(len(rows), _groups_by(emails))


def identifier_ceiling(rows: Sequence[dict]) -> list[int]:
    """Link every pair connected through a shared normalized email or E.164 phone, no guards."""
    emails, phones = [], []
    for row in rows:
        email = normalize_email(row.get("email"))
        phone = normalize_phone(row.get("phone"), default_region=row.get("country") or "US")
        emails.append(email.value if email else None)
        phones.append(phone.e164 if phone else None)
    return _union_find_labels(len(rows), _groups_by(emails) + _groups_by(phones))


def ours(input_path: Path) -> tuple[list[str], float]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "attribution.identity.cluster", str(input_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - started
    by_id = {}
    for line in result.stdout.splitlines():
        row = json.loads(line)
        by_id[row["record_id"]] = row["cluster_id"]
    return [by_id[record_id] for record_id in _record_ids(input_path)], elapsed


def _record_ids(input_path: Path) -> list[str]:
    with input_path.open(encoding="utf-8") as handle:
        return [json.loads(line)["record_id"] for line in handle if line.strip()]


def splink_model(rows: Sequence[dict]) -> tuple[list[int], float]:
    """Splink 5 on DuckDB, fed the same normalized values our resolver uses.

    Blocking on email, phone and a name key; comparisons on first name, last name, email,
    phone (term-frequency adjusted), company, work email domain and campaign; u by random sampling, m by EM on two blocking
    passes; clusters at 0.95.
    """
    import pyarrow as pa
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    started = time.perf_counter()
    columns: dict[str, list] = defaultdict(list)
    for i, row in enumerate(rows):
        keys = record_keys(PersonRecord.from_dict(row))
        email = keys.personal_email
        columns["unique_id"].append(i)
        columns["email"].append(email.value if email else None)
        columns["email_canonical"].append(email.canonical if email else None)
        columns["phone"].append(keys.e164)
        columns["first_name"].append(keys.name.first_key or None)
        columns["last_name"].append(keys.name.last or None)
        columns["first_initial"].append(keys.name.first_key[:1] or None)
        columns["company"].append(keys.company or None)
        columns["campaign"].append(keys.campaign or None)
        work_domain = keys.email.domain if keys.email and not keys.email.is_junk else None
        columns["work_domain"].append(
            work_domain if work_domain not in FREE_EMAIL_DOMAINS else None
        )
    table = pa.table(dict(columns))
    db_api = DuckDBAPI()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("first_name", [0.92, 0.8]).configure(
                term_frequency_adjustments=True
            ),
            cl.JaroWinklerAtThresholds("last_name", [0.92, 0.8]).configure(
                term_frequency_adjustments=True
            ),
            cl.EmailComparison("email"),
            # Term frequencies make a front-desk phone weak evidence, as share_limit does for us.
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
            cl.ExactMatch("company"),
            cl.ExactMatch("work_domain"),
            cl.ExactMatch("campaign"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email_canonical"),
            block_on("phone"),
            block_on("last_name", "first_initial"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(db_api.register(table), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email_canonical"), block_on("phone")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("email_canonical"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("last_name", "first_initial"), estimate_without_term_frequencies=True
    )
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.95
    )
    cluster_of = dict(clusters.as_duckdbpyrelation().select("unique_id, cluster_id").fetchall())
    elapsed = time.perf_counter() - started
    return [cluster_of.get(i, f"single-{i}") for i in range(len(rows))], elapsed


GENERATORS = {"generic": generate.write, "hard": generate_hard.write}


def plain_resolver(rows: Sequence[dict], *, cap: int = PLAIN_CAP) -> list[int]:
    """What a plain resolver does: union-find on exact identifiers, nothing else.

    Identifiers are the normalized email, its canonical gmail mailbox (dots and +tag gone) and
    the E.164 phone; a value carried by more than ``cap`` records (an office line, test@test.com)
    is dropped, since nobody leaves that many sightings through one funnel.
    """
    values: list[list[str]] = []
    for row in rows:
        own: list[str] = []
        email = normalize_email(row.get("email"))
        if email is not None:
            own.append("e:" + email.value)
            local, domain = email.value.split("@")
            if domain in ("gmail.com", "googlemail.com"):
                own.append("g:" + local.split("+", 1)[0].replace(".", "") + "@gmail.com")
        phone = normalize_phone(row.get("phone"), default_region=row.get("country") or "US")
        if phone is not None and phone.e164:
            own.append("p:" + phone.e164)
        values.append(own)
    counts = Counter(value for own in values for value in set(own))
    groups: dict[str, list[int]] = defaultdict(list)
    for i, own in enumerate(values):
        for value in own:
            if counts[value] <= cap:
                groups[value].append(i)
    return _union_find_labels(len(rows), groups.values())


def conflict_merges(labels: Sequence[object], rows: Sequence[dict], truth: Sequence[int]) -> int:
    """Over-merged clusters holding two people who each left a valid phone or personal email,
    none of them shared between the two: merged against a conflicting identifier."""
    people: dict[object, dict[int, tuple[set[str], set[str]]]] = defaultdict(dict)
    for label, row, person in zip(labels, rows, truth, strict=True):
        keys = record_keys(PersonRecord.from_dict(row))
        phones, emails = people[label].setdefault(person, (set(), set()))
        if keys.e164:
            phones.add(keys.e164)
        if keys.personal_email is not None:
            emails.add(keys.personal_email.canonical)
    count = 0
    for by_person in people.values():
        if len(by_person) < 2:
            continue
        items = list(by_person.values())
        clash = False
        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                (pa, ea), (pb, eb) = items[a], items[b]
                if pa & pb or ea & eb:
                    continue  # linked by something they really share
                if (pa and pb) or (ea and eb):
                    clash = True
        count += clash
    return count


def run_one(generator: str, records: int, seed: int, *, splink: bool) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="identity-bench-") as tmp:
        input_path, truth_path = GENERATORS[generator](Path(tmp), records=records, seed=seed)
        with input_path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle]
        with truth_path.open(encoding="utf-8") as handle:
            truth_by_id = {row["record_id"]: row["person_id"] for row in map(json.loads, handle)}
        truth = [truth_by_id[row["record_id"]] for row in rows]
        n = len(rows)
        base = {"generator": generator, "seed": seed, "records": n, "people": len(set(truth))}
        results: list[dict[str, object]] = []

        def add(name: str, labels: Sequence[object], elapsed: float) -> None:
            results.append(
                {
                    **base,
                    "resolver": name,
                    **score(labels, truth),
                    "conflict_merges": conflict_merges(labels, rows, truth),
                    "records_per_second": round(n / elapsed) if elapsed else None,
                }
            )

        started = time.perf_counter()
        labels = exact_email_baseline(rows)
        add("exact_email", labels, time.perf_counter() - started)
        started = time.perf_counter()
        labels = plain_resolver(rows)
        add("plain", labels, time.perf_counter() - started)
        ceiling = score(identifier_ceiling(rows), truth)
        base["identifier_ceiling_recall"] = ceiling["recall"]
        if splink:
            try:
                splink_labels, splink_elapsed = splink_model(rows)
            except ImportError as exc:
                print(f"splink skipped: {exc}", file=sys.stderr)
            else:
                add("splink", splink_labels, splink_elapsed)
        labels, elapsed = ours(input_path)
        add("ours", labels, elapsed)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8])
    parser.add_argument(
        "--generators", nargs="+", choices=sorted(GENERATORS), default=["generic", "hard"]
    )
    parser.add_argument("--no-splink", action="store_true", help="skip the Splink comparison")
    args = parser.parse_args()

    results: list[dict[str, object]] = []
    for generator in args.generators:
        for seed in args.seeds:
            results += run_one(generator, args.records, seed, splink=not args.no_splink)
    header = (
        f"{'generator':9s} {'seed':>4s} {'resolver':11s} {'precision':>9s} {'recall':>7s} "
        f"{'F1':>7s} {'over-merged':>11s} {'conflicts':>9s} {'records/s':>9s}"
    )
    print(header)
    for r in results:
        print(
            f"{r['generator']:9s} {r['seed']:>4} {r['resolver']:11s} {r['precision']:9.4f} "
            f"{r['recall']:7.4f} {r['f1']:7.4f} {r['over_merged_clusters']:11d} "
            f"{r['conflict_merges']:9d} {r['records_per_second'] or 0:9,d}"
        )
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
