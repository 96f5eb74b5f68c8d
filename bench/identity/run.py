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

from generate import write  # noqa: E402

from attribution.identity.match import FREE_EMAIL_DOMAINS, PersonRecord, record_keys  # noqa: E402
from attribution.identity.normalize import normalize_email, normalize_phone  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-splink", action="store_true", help="skip the Splink comparison")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="identity-bench-") as tmp:
        input_path, truth_path = write(Path(tmp), records=args.records, seed=args.seed)
        with input_path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle]
        with truth_path.open(encoding="utf-8") as handle:
            truth_by_id = {row["record_id"]: row["person_id"] for row in map(json.loads, handle)}
        truth = [truth_by_id[row["record_id"]] for row in rows]
        n = len(rows)
        figures: dict[str, object] = {"records": n, "seed": args.seed, "people": len(set(truth))}

        started = time.perf_counter()
        baseline = exact_email_baseline(rows)
        figures["exact_email"] = {
            **score(baseline, truth),
            "records_per_second": round(n / (time.perf_counter() - started)),
        }

        ceiling = score(identifier_ceiling(rows), truth)
        figures["identifier_ceiling"] = {
            "recall": ceiling["recall"],
            "precision_if_linked_blindly": ceiling["precision"],
        }

        labels, elapsed = ours(input_path)
        figures["ours"] = {**score(labels, truth), "records_per_second": round(n / elapsed)}

        if not args.no_splink:
            splink_labels, splink_elapsed = splink_model(rows)
            figures["splink"] = {
                **score(splink_labels, truth),
                "records_per_second": round(n / splink_elapsed),
            }

    print(f"records={n} people={figures['people']} seed={args.seed}")
    print(f"identifier ceiling recall: {figures['identifier_ceiling']['recall']:.4f}")
    for method in ("exact_email", "ours", "splink"):
        result = figures.get(method)
        if isinstance(result, dict):
            print(
                f"{method:12s} precision={result['precision']:.4f} recall={result['recall']:.4f} "
                f"f1={result['f1']:.4f} over_merged={result['over_merged_clusters']} "
                f"rec/s={result['records_per_second']}"
            )
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
