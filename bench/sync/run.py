"""Nightly-sync benchmark: a full backfill from the local fake provider server.

    DATABASE_URL=postgres://... .venv/bin/python bench/sync/run.py \
        --calendly 50000 --close 20000 --typeform 50000 --rate-scale 100

Starts bench/sync/fake_server.py in its own process, creates a fresh organisation, and runs the
real sync services (clients, cursors, parse, ingest_records into PostgreSQL) for Calendly,
Typeform and Close one after the other, as `manage.py sync ORG` does. For each provider it prints
records, requests, wall time, the floor the rate limit sets for that many requests (wall time
can't be shorter), the ratio actual/floor, records/s, and the RSS seen across pages; then the
peak RSS of the process (resource.getrusage) and of its page workers, and whether every
person ended as one contact. ``--page-workers N`` sets SYNC_PAGE_WORKERS (1: every page applied
in the sync's own process). ``--rate-scale`` multiplies the server's limits
and the clients' pacing alike (time compression); the floor at the documented limits is printed
too. The last line is one JSON object with every figure.

``--parallel`` runs each provider in its own process, side by side on one organisation, as the
nightly fan-out's Celery workers run them: the same people arrive from every provider at once,
so it also checks that concurrent runs meet in one contact per person. Its floor is the slowest
provider's (each provider's limit is its own); peak RSS is given per process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

# DEBUG keeps the last 9,000 SQL statements in memory: that would be measured as the sync's.
settings.DEBUG = False

from fake_server import LIMITS  # noqa: E402

from apps.contacts.models import Contact  # noqa: E402
from apps.integrations.providers import provider_named  # noqa: E402
from apps.integrations.services import credential_set  # noqa: E402
from apps.integrations.sync import sync_run  # noqa: E402
from apps.orgs.models import Organization  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calendly", type=int, default=50_000, help="invitees (one per event)")
    parser.add_argument("--close", type=int, default=20_000, help="leads, each with an opportunity")
    parser.add_argument("--typeform", type=int, default=50_000, help="form responses")
    parser.add_argument("--rate-scale", type=float, default=1.0)
    parser.add_argument("--providers", default="calendly,typeform,close")
    parser.add_argument(
        "--no-ingest",
        action="store_true",
        help="replace ingest_records by a no-op: the sync layer alone (clients, pacing, parsing, "
        "cursors), without contact resolution and upserts",
    )
    parser.add_argument("--profile", help="write a cProfile of the run to this file")
    parser.add_argument(
        "--parallel", action="store_true", help="each provider in its own process, side by side"
    )
    parser.add_argument(
        "--page-workers",
        type=int,
        default=settings.SYNC_PAGE_WORKERS,
        help="processes a walk's pages are applied by (SYNC_PAGE_WORKERS; 1: the sync's own)",
    )
    # Internal: a --parallel child syncs one provider of the parent's org against its server.
    parser.add_argument("--child-org", help=argparse.SUPPRESS)
    parser.add_argument("--child-base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings.SYNC_PAGE_WORKERS = args.page_workers
    if args.no_ingest:
        from apps.integrations import ingest

        settings.SYNC_PAGE_WORKERS = 1  # the no-op replaces ingest_records in this process only
        ingest.ingest_records = lambda *, items, **kwargs: [ingest.Outcome.CREATED] * len(items)
    if args.child_org:
        org = Organization.objects.get(slug=args.child_org)
        print(json.dumps(sync_provider(org, args.providers, args, args.child_base)), flush=True)
        return

    server = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("fake_server.py")),
            f"--calendly={args.calendly}",
            f"--close={args.close}",
            f"--typeform={args.typeform}",
            f"--rate-scale={args.rate_scale}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(server.stdout.readline().split()[-1])
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            results = profiler.runcall(run, args, f"http://127.0.0.1:{port}")
            profiler.dump_stats(args.profile)
        elif args.parallel:
            results = run_parallel(args, f"http://127.0.0.1:{port}")
        else:
            results = run(args, f"http://127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(json.dumps(results))


def sync_provider(org: Organization, provider: str, args, base: str) -> dict:
    samples: list[float] = []

    def sample(run):
        samples.append(rss_mb())

    client_options = {
        "base_url": f"{base}/{provider}",
        "rate_per_second": provider_named(provider).client.rate_per_second * args.rate_scale,
    }
    t0 = time.monotonic()
    sync = sync_run(
        org=org, provider=provider, full=True, client_options=client_options, on_progress=sample
    )
    elapsed = time.monotonic() - t0
    limit, window = LIMITS[provider]
    requests = sync.progress.get("requests") or 0
    floor = requests * window / limit / args.rate_scale
    return {
        "status": sync.status,
        "error": sync.error,
        "records": sync.fetched,
        "created": sync.created,
        "updated": sync.updated,
        "unchanged": sync.unchanged,
        "failed": sync.failed,
        "requests": requests,
        "seconds": round(elapsed, 2),
        "floor_seconds": round(floor, 2),
        "floor_seconds_at_documented_limit": round(requests * window / limit, 1),
        "actual_over_floor": round(elapsed / floor, 3) if floor else None,
        "records_per_second": round(sync.fetched / elapsed, 1) if elapsed else None,
        "rate_limit_wait_s": sync.progress.get("rate_limit_wait_s"),
        "rss_mb_min": round(min(samples), 1) if samples else None,
        "rss_mb_max": round(max(samples), 1) if samples else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "page_workers": (sync.progress.get("page_workers") or {}).get("count", 0),
        "page_worker_peak_rss_mb": max(
            (sync.progress.get("page_workers") or {}).get("peak_rss_mb") or [0]
        ),
    }


def print_provider(provider: str, figures: dict) -> None:
    print(
        f"{provider:9} {figures['status']:9} {figures['records']:>7} records "
        f"{figures['requests']:>6} requests {figures['seconds']:8.1f}s  floor "
        f"{figures['floor_seconds']:8.1f}s (x{figures['actual_over_floor']}) "
        f"{figures['records_per_second']:>8} rec/s  rss {figures['rss_mb_min']}-"
        f"{figures['rss_mb_max']} MB  429 waits {figures['rate_limit_wait_s']}s"
        + (
            f"  {figures['page_workers']} page workers (peak RSS "
            f"{figures['page_worker_peak_rss_mb']} MB)"
            if figures["page_workers"]
            else ""
        )
        + (f"  error: {figures['error']}" if figures["error"] else ""),
        flush=True,
    )


def bench_org(args) -> Organization:
    slug = f"bench-sync-{time.time_ns()}"
    org = Organization.objects.create(slug=slug, name="Sync benchmark")
    for provider in args.providers.split(","):
        name = "api_key" if provider == "close" else "api_token"
        credential_set(org=org, provider=provider, name=name, value="bench-token", actor=None)
    print(
        f"org {slug}: calendly {args.calendly} invitees, close {args.close} leads + "
        f"opportunities, typeform {args.typeform} responses; rate scale x{args.rate_scale:g}"
        + ("; ingest_records replaced by a no-op" if args.no_ingest else "")
        + ("; providers side by side" if args.parallel else "")
    )
    return org


def run_parallel(args, base: str) -> dict:
    org = bench_org(args)
    providers = args.providers.split(",")
    started = time.monotonic()
    children = {
        provider: subprocess.Popen(
            [
                sys.executable,
                __file__,
                f"--providers={provider}",
                f"--child-org={org.slug}",
                f"--child-base={base}",
                f"--rate-scale={args.rate_scale}",
                f"--page-workers={args.page_workers}",
                *(["--no-ingest"] if args.no_ingest else []),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for provider in providers
    }
    results: dict = {"rate_scale": args.rate_scale, "parallel": True, "providers": {}}
    for provider, child in children.items():
        out, _ = child.communicate()
        figures = json.loads(out.strip().splitlines()[-1])
        results["providers"][provider] = figures
        print_provider(provider, figures)
    total = time.monotonic() - started
    records = sum(p["records"] for p in results["providers"].values())
    # Each provider's limit is its own, so side by side the slowest provider sets the floor.
    floor = max(p["floor_seconds"] for p in results["providers"].values())
    contacts, people = contacts_and_people(org)
    results.update(
        total_records=records,
        total_seconds=round(total, 2),
        total_floor_seconds=round(floor, 2),
        total_records_per_second=round(records / total, 1),
        contacts=contacts,
        distinct_emails=people,
        peak_rss_mb_per_process=max(
            max(p["peak_rss_mb"], p["page_worker_peak_rss_mb"])
            for p in results["providers"].values()
        ),
    )
    print(
        f"total     {records} records in {total:.1f}s (floor {floor:.1f}s, x{total / floor:.3f}), "
        f"{records / total:.1f} rec/s side by side; {contacts} contacts for {people} distinct "
        f"emails; peak RSS {results['peak_rss_mb_per_process']} MB per process"
    )
    return results


def contacts_and_people(org: Organization) -> tuple[int, int]:
    """Live contacts, and distinct emails among them: equal when every person is one contact."""
    emails = (
        Contact.objects.for_org(org)
        .filter(merged_into__isnull=True)
        .values_list("primary_email", flat=True)
    )
    contacts, people = 0, set()
    for email in emails.iterator():
        contacts += 1
        people.add(email.lower())
    return contacts, len(people)


def run(args, base: str) -> dict:
    org = bench_org(args)
    results: dict = {"rate_scale": args.rate_scale, "no_ingest": args.no_ingest, "providers": {}}
    started = time.monotonic()
    for provider in args.providers.split(","):
        figures = sync_provider(org, provider, args, base)
        results["providers"][provider] = figures
        print_provider(provider, figures)
    total = time.monotonic() - started
    records = sum(p["records"] for p in results["providers"].values())
    floor = sum(p["floor_seconds"] for p in results["providers"].values())
    results.update(
        total_records=records,
        total_seconds=round(total, 2),
        total_floor_seconds=round(floor, 2),
        total_floor_seconds_at_documented_limits=round(
            sum(p["floor_seconds_at_documented_limit"] for p in results["providers"].values()), 1
        ),
        total_records_per_second=round(records / total, 1),
        peak_rss_mb=round(peak_rss_mb(), 1),
        page_worker_peak_rss_mb=max(
            p["page_worker_peak_rss_mb"] for p in results["providers"].values()
        ),
    )
    contacts, people = contacts_and_people(org)
    results.update(contacts=contacts, distinct_emails=people)
    print(
        f"total     {records} records in {total:.1f}s (floor {floor:.1f}s, x{total / floor:.3f}), "
        f"{records / total:.1f} rec/s, peak RSS {results['peak_rss_mb']} MB (page workers "
        f"{results['page_worker_peak_rss_mb']} MB); {contacts} contacts for {people} distinct "
        f"emails; floor at the documented limits "
        f"{results['total_floor_seconds_at_documented_limits']}s"
    )
    return results


if __name__ == "__main__":
    main()
