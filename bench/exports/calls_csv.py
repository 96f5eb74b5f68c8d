"""Streaming-export benchmark: peak memory while a large calls CSV streams.

    DATABASE_URL=postgres://... .venv/bin/python bench/exports/calls_csv.py --rows 500000

Fills an organisation of its own (``bench-exports``, kept between runs and topped up to the
largest ``--rows`` asked) with calls spread over 1,000 contacts, then streams the calls CSV
through the same code as the calls page (``meeting_list_filtered`` -> ``exports.call_rows`` ->
``csv_response``) for each size in ``--sizes`` and prints, per size: rows, bytes, seconds,
rows/s, the time to the first chunk, and the process RSS before and its peak growth while
streaming (sampled at every chunk); ``--trace`` adds the peak Python allocation (tracemalloc).
Flat memory means the peak does not grow with the row count. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

settings.DEBUG = False  # DEBUG keeps every SQL statement: that would be measured as the export's

from django.utils import timezone  # noqa: E402

from apps.contacts.models import Contact  # noqa: E402
from apps.meetings import exports  # noqa: E402
from apps.meetings.call_filters import CallFilters, meeting_list_filtered  # noqa: E402
from apps.meetings.models import CallType, Meeting  # noqa: E402
from apps.orgs.csv import csv_response  # noqa: E402
from apps.orgs.models import Membership, Organization, Role, TeamMember, User  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
BATCH = 10_000


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def fill(rows: int) -> tuple[Organization, Membership]:
    org, _ = Organization.objects.get_or_create(slug="bench-exports", defaults={"name": "Bench"})
    user, _ = User.objects.get_or_create(email="bench-exports@example.com")
    membership, _ = Membership.objects.get_or_create(
        user=user, org=org, defaults={"role": Role.MANAGER}
    )
    closer, _ = TeamMember.objects.get_or_create(
        org=org, email="closer@bench.example", defaults={"name": "Bench Closer", "is_closer": True}
    )
    contacts = list(Contact.objects.filter(org=org).values_list("pk", flat=True))
    if not contacts:
        Contact.objects.bulk_create(
            Contact(org=org, first_name=f"Lead{n}", last_name="Bench",
                    primary_email=f"lead{n}@bench.example", original_source="facebook")
            for n in range(1000)
        )  # fmt: skip
        contacts = list(Contact.objects.filter(org=org).values_list("pk", flat=True))
    have = Meeting.objects.filter(org=org).count()
    start = timezone.now() - timedelta(days=365)
    while have < rows:
        n = min(BATCH, rows - have)
        Meeting.objects.bulk_create(
            Meeting(
                org=org,
                contact_id=contacts[i % len(contacts)],
                external_id=f"https://api.calendly.com/invitees/bench-{i}",
                event_name="Strategy call",
                call_type=CallType.SOLUTION,
                scheduled_at=start + timedelta(seconds=60 * i),
                closer=closer,
                host=closer,
            )
            for i in range(have, have + n)
        )
        have += n
        print(f"  filled {have:,} calls", file=sys.stderr)
    return org, membership


def stream(org: Organization, membership: Membership, limit: int, *, trace: bool) -> dict:
    meetings = meeting_list_filtered(membership=membership, filters=CallFilters())
    ids = meetings.order_by("-scheduled_at", "-pk").values_list("pk", flat=True)[limit - 1 : limit]
    cutoff = Meeting.objects.get(pk=ids[0]).scheduled_at
    meetings = meetings.filter(scheduled_at__gte=cutoff)
    rss_before = rss_peak = rss_mb()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    response = csv_response(
        "calls.csv", exports.CALL_HEADER, exports.call_rows(org=org, meetings=meetings)
    )
    size = lines = 0
    first_chunk = None
    for chunk in response.streaming_content:
        if first_chunk is None:
            first_chunk = time.perf_counter() - started
        size += len(chunk)
        lines += chunk.count(b"\n")
        rss_peak = max(rss_peak, rss_mb())
    elapsed = time.perf_counter() - started
    peak = None
    if trace:
        peak = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
        tracemalloc.stop()
    return {
        "rows": lines - 1,
        "bytes": size,
        "seconds": round(elapsed, 2),
        "rows_per_s": round((lines - 1) / elapsed),
        "first_chunk_s": round(first_chunk or 0, 3),
        "peak_traced_mb": peak,
        "rss_before_mb": round(rss_before, 1),
        "rss_peak_growth_mb": round(rss_peak - rss_before, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--sizes", default="50000,500000", help="row counts to stream, in order")
    parser.add_argument(
        "--trace",
        action="store_true",
        help="also trace Python allocations (tracemalloc: exact peak, but ~7x slower)",
    )
    args = parser.parse_args()
    sizes = [min(int(s), args.rows) for s in args.sizes.split(",")]
    org, membership = fill(max(args.rows, *sizes))
    results = []
    for size in sizes:
        figures = stream(org, membership, size, trace=args.trace)
        results.append(figures)
        print(
            f"{figures['rows']:>9,} rows  {figures['bytes'] / 2**20:7.1f} MB  "
            f"{figures['seconds']:6.2f} s  {figures['rows_per_s']:>8,} rows/s  "
            f"first chunk {figures['first_chunk_s']} s  RSS {figures['rss_before_mb']} MB "
            f"+{figures['rss_peak_growth_mb']} MB at peak  traced peak {figures['peak_traced_mb']} MB"
        )
    print(json.dumps({"streams": results}))


if __name__ == "__main__":
    main()
