"""Benchmark: synthetic people through contact_resolve_many into the configured database.

    DATABASE_URL=postgres://... python manage.py bench_resolve --records 20000

Prints records per second and the pairwise precision/recall of the contacts it made against the
generator's ground truth (the same scoring as bench/identity/run.py); the last line is JSON.
"""

import importlib.util
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from apps.contacts.models import Contact
from apps.contacts.services import contact_resolve_many
from apps.orgs.models import Organization
from attribution.identity.match import parse_timestamp
from attribution.sources.records import PersonObservation, Utm

BENCH = Path(settings.BASE_DIR) / "bench" / "identity"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_identity_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _observation(row: dict) -> PersonObservation:
    at = parse_timestamp(row.get("created_at")) or datetime(2026, 1, 1, tzinfo=UTC)
    return PersonObservation(
        source=row.get("source") or "typeform",
        observed_at=at,
        emails=(row["email"],) if row.get("email") else (),
        phones=(row["phone"],) if row.get("phone") else (),
        first_name=row.get("first_name"),
        last_name=row.get("last_name"),
        full_name=row.get("full_name"),
        company=row.get("company"),
        country=row.get("country"),
        utm=Utm(source=row.get("utm_source"), campaign=row.get("utm_campaign")),
    )


class Command(BaseCommand):
    help = "Measures contact_resolve_many throughput and accuracy on synthetic people."

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--batch", type=int, default=500)
        parser.add_argument("--keep", action="store_true", help="keep the benchmark org")

    def handle(self, records, seed, batch, keep, **options):
        generate, run = _load("generate"), _load("run")
        rows, truth = generate.generate(records=records, seed=seed)
        rows.sort(key=lambda r: (str(r.get("created_at") or "9999"), r["record_id"]))
        observations = [_observation(r) for r in rows]
        slug = f"bench-resolve-{int(time.time())}"
        org = Organization.objects.create(name="Resolve benchmark", slug=slug)
        contact_of: list[int] = []
        started = time.perf_counter()
        for start in range(0, len(observations), batch):
            results = contact_resolve_many(
                org=org, observations=observations[start : start + batch]
            )
            contact_of += [r.contact.pk for r in results]
            done = start + len(results)
            if done % (batch * 10) == 0:
                rate = done / (time.perf_counter() - started)
                self.stderr.write(f"  {done:>7} records, {rate:,.0f}/s")
        elapsed = time.perf_counter() - started
        # A record resolved early may sit on a contact an admin merge moved later: follow it.
        final = dict(Contact.objects.filter(org=org).values_list("pk", "merged_into_id"))
        labels = [final.get(pk) or pk for pk in contact_of]
        scores = run.score(labels, [truth[r["record_id"]] for r in rows])
        figures = {
            "records": len(rows),
            "batch": batch,
            "database": connection.vendor,
            "seconds": round(elapsed, 2),
            "records_per_second": round(len(rows) / elapsed, 1),
            "contacts": Contact.objects.filter(org=org).count(),
            **scores,
        }
        self.stdout.write(
            f"contact_resolve_many into {connection.vendor}: {figures['records']} records in "
            f"{figures['seconds']} s = {figures['records_per_second']:,.0f} records/s; "
            f"precision {scores['precision']}, recall {scores['recall']}, F1 {scores['f1']}"
        )
        if not keep:
            org.delete()
        self.stdout.write(json.dumps(figures))
