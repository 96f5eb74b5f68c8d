"""In-memory batch resolver: the same rules as the online service, over a whole file of records.

    python -m attribution.identity.cluster INPUT.jsonl > OUTPUT.jsonl

Records are resolved one at a time in ``created_at`` order against the clusters built so far, as
the online service sees them arrive; a record joins the best cluster it MATCHes, and clusters it
also MATCHes are merged in when that would not bring two different emails together.
"""

from __future__ import annotations

import gc
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from attribution.identity.match import (
    FREE_EMAIL_DOMAINS,
    Outcome,
    PersonRecord,
    Profile,
    RecordKeys,
    blocking_keys,
    decide,
    name_signature,
    profile_extend,
    profile_merge,
    provider_key,
    record_keys,
)

__all__ = [
    "DEFAULT_SHARE_LIMIT",
    "InputError",
    "find_shared_values",
    "main",
    "read_records",
    "resolve",
]

DEFAULT_SHARE_LIMIT = 3
# A common name block ("smith j") can hold hundreds of people; the most recent ones are where a
# fuzzy match with time or campaign corroboration can come from, and the cap bounds the cost.
_NAME_BLOCK_CAP = 40
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


def find_shared_values(
    keys: Iterable[RecordKeys], *, share_limit: int = DEFAULT_SHARE_LIMIT
) -> frozenset[str]:
    """Identifier values carried by more than ``share_limit`` different people.

    Without ground truth, "different people" is estimated from what else the records carry: a
    phone seen with more distinct personal emails, or more distinct name signatures, than the limit
    is an office or front-desk line; an email seen with more distinct name signatures is a shared
    inbox. Name signatures fold nicknames and typos, so one person's variants count once.
    """
    emails_by_phone: dict[str, set[str]] = defaultdict(set)
    names_by_value: dict[str, set[frozenset[str]]] = defaultdict(set)
    values_by_canonical: dict[str, set[str]] = defaultdict(set)
    for key in keys:
        email = key.personal_email
        signature = name_signature(key.name)
        values: list[str] = []
        if email is not None:
            values.append(email.canonical)
            values_by_canonical[email.canonical].add(email.value)
        e164 = key.e164
        if e164 is not None:
            values.append(e164)
            if email is not None:
                emails_by_phone[e164].add(email.canonical)
        values.extend(provider_key(kind, value) for kind, value in key.provider_ids)
        if signature is not None:
            for value in values:
                names_by_value[value].add(signature)
    shared = {value for value, names in names_by_value.items() if len(names) > share_limit}
    shared |= {phone for phone, emails in emails_by_phone.items() if len(emails) > share_limit}
    for canonical in list(shared):
        shared |= values_by_canonical.get(canonical, set())
    return frozenset(shared)


class _Clusters:
    """Union-find over record positions, with one profile per root."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))
        self.profiles: dict[int, Profile] = {}

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:  # path compression keeps later finds O(1)
            parent[i], i = root, parent[i]
        return root

    def union(self, keep: int, other: int) -> None:
        self.parent[other] = keep
        self.profiles[keep] = profile_merge(self.profiles[keep], self.profiles.pop(other))


@dataclass(frozen=True, slots=True)
class Resolution:
    cluster_of: tuple[
        int, ...
    ]  # per input position, the input position of its cluster's first record
    shared: frozenset[str]
    # Record/cluster pairs weighed that became REVIEW (MergeCandidates online). Namesakes with
    # nothing but weak corroboration are not weighed in a batch, so this undercounts the queue.
    review_pairs: int


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    # A batch allocates millions of small objects (keys, profiles, decisions) and no reference
    # cycles: the cyclic collector's passes over a heap of 50,000 records were 40 % of the time,
    # and reference counting frees everything it would.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def resolve(
    records: Sequence[PersonRecord],
    *,
    share_limit: int = DEFAULT_SHARE_LIMIT,
    blocked: frozenset[str] = frozenset(),
) -> Resolution:
    with _without_cyclic_gc():
        return _resolve(records, share_limit=share_limit, blocked=blocked)


def _resolve(
    records: Sequence[PersonRecord], *, share_limit: int, blocked: frozenset[str]
) -> Resolution:
    keys = [record_keys(record) for record in records]
    shared = find_shared_values(keys, share_limit=share_limit) | blocked
    order = sorted(range(len(keys)), key=lambda i: (keys[i].created_at or _FAR_FUTURE, i))
    # Ties between equally good matches go to the cluster that started first, in time order,
    # so the clusters depend on the records and not on where they sit in the file.
    rank = [0] * len(keys)
    for position, i in enumerate(order):
        rank[i] = position
    clusters = _Clusters(len(keys))
    index: dict[str, list[int]] = defaultdict(list)
    reviews = 0
    for i in order:
        key = keys[i]
        block = _batch_keys(key, shared)
        candidates: set[int] = set()
        for block_key in block:
            members = index.get(block_key)
            if members:
                if block_key[0] == "n":
                    members = members[-_NAME_BLOCK_CAP:]
                candidates.update(clusters.find(m) for m in members)
        matches: list[tuple[float, int, int, bool]] = []
        for root in candidates:
            decision = decide(key, clusters.profiles[root], shared=shared)
            if decision.outcome is Outcome.MATCH:
                matches.append((-decision.score, rank[root], root, decision.by_identifier))
            elif decision.outcome is Outcome.REVIEW:
                reviews += 1
        clusters.profiles[i] = profile_extend(None, key)
        if matches:
            matches.sort()
            best = matches[0][2]
            clusters.union(best, i)
            # The record carries an identifier of each cluster it shares one with, so those are
            # one person through it (a phone beside a second email, an email beside a Close id).
            # A cluster it matches by name alone only gets the record if it is the best match.
            for _, _, root, by_identifier in matches[1:]:
                root = clusters.find(root)
                if root != best and by_identifier:
                    clusters.union(best, root)
        for block_key in block:
            index[block_key].append(i)
    first_of_root: dict[int, int] = {}
    cluster_of = []
    for i in range(len(keys)):
        cluster_of.append(first_of_root.setdefault(clusters.find(i), i))
    return Resolution(cluster_of=tuple(cluster_of), shared=shared, review_pairs=reviews)


def _batch_keys(keys: RecordKeys, shared: frozenset[str]) -> list[str]:
    """``blocking_keys`` narrowed to the candidates that can change a batch's clusters.

    A cluster sharing an identifier with the record is under an identifier key. One that shares
    only a name can MATCH only with strong corroboration (a company or a work email domain; see
    ``decide``), so a name key is only worth indexing joined with one of those: with common
    names, a name block alone holds dozens of namesakes that ``decide`` can at most send to
    review, and weighing them was most of the resolver's time.
    """
    out: list[str] = []
    names: list[str] = []
    for block_key in blocking_keys(keys, shared=shared):
        (names if block_key[0] == "n" else out).append(block_key)
    if names:
        email = keys.email
        strong: list[str] = []
        if keys.company:
            strong.append("|k:" + keys.company)
        if email is not None and not email.is_junk and email.domain not in FREE_EMAIL_DOMAINS:
            strong.append("|d:" + email.domain)
        out.extend(name + tail for name in names for tail in strong)
    return out


class InputError(ValueError):
    def __init__(self, line_number: int, message: str) -> None:
        super().__init__(f"line {line_number}: {message}")
        self.line_number = line_number
        self.reason = message


def read_records(lines: Iterable[str]) -> tuple[list[PersonRecord], list[object]]:
    """Parse JSON lines into records (blank lines skipped), keeping each original record_id.

    Raises :class:`InputError` naming the first bad line.
    """
    records: list[PersonRecord] = []
    original_ids: list[object] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(number, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise InputError(number, "not valid JSON (nested too deeply)") from None
        if not isinstance(data, dict):
            raise InputError(number, "expected a JSON object")
        try:
            record = PersonRecord.from_dict(data)
        except ValueError as exc:
            raise InputError(number, str(exc)) from None
        if record.record_id in seen:
            raise InputError(number, f"duplicate record_id {record.record_id!r}")
        seen.add(record.record_id)
        records.append(record)
        original_ids.append(data["record_id"])
    return records, original_ids


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    share_limit = DEFAULT_SHARE_LIMIT
    if len(args) == 3 and args[0] == "--share-limit" and args[1].isdigit():
        share_limit = int(args[1])
        args = args[2:]
    if len(args) != 1:
        print(
            "usage: python -m attribution.identity.cluster [--share-limit N] INPUT.jsonl "
            "> OUTPUT.jsonl",
            file=sys.stderr,
        )
        return 2
    path = args[0]
    try:
        with _without_cyclic_gc():
            if path == "-":
                records, ids = read_records(sys.stdin)
            else:
                with open(path, encoding="utf-8") as handle:
                    records, ids = read_records(handle)
    except InputError as exc:
        print(f"{path}:{exc.line_number}: {exc.reason}", file=sys.stderr)
        return 1
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}: cannot read input: {exc}", file=sys.stderr)
        return 1
    resolution = resolve(records, share_limit=share_limit)
    dumps = json.dumps
    # Built in full before writing: a failure above leaves stdout empty, never half a file.
    out = "".join(
        dumps({"record_id": ids[i], "cluster_id": ids[first]}, ensure_ascii=False) + "\n"
        for i, first in enumerate(resolution.cluster_of)
    )
    sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
