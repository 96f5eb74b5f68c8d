"""REST API benchmark: POST /api/v1/conversions under load, GET analytics over 1M conversions.

    createdb attr_bench && DATABASE_URL=postgres://postgres@127.0.0.1:5432/attr_bench \
        REDIS_URL=redis://127.0.0.1:6379/9 .venv/bin/python manage.py migrate
    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/api/run.py --rate 200 --seconds 15

Starts gunicorn (production settings, DEBUG=0) on 127.0.0.1, creates an organisation with a
workspace, a key and ``--contacts`` contacts, then:

1. posts conversions open-loop at ``--rate`` requests/s for ``--seconds`` (each request sent at
   its scheduled time from a pool of client threads, a fresh Idempotency-Key each) and prints
   p50/p95/p99/max latency and the status counts;
2. adds conversions straight in SQL up to ``--conversions`` (default 1M) over the last year,
   with their rollups and contacts' statuses as the service would have written them, and asks
   GET /api/v1/conversions/analytics ``--reads`` times for the last 30 and the last 365 days,
   printing p50/p95/p99 for each.

The last line is one JSON object with every figure. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

settings.DEBUG = False

from apps.api.services import api_key_create, workspace_create  # noqa: E402
from apps.contacts.models import Contact  # noqa: E402
from apps.orgs.models import Organization  # noqa: E402

PORT = 8791
BASE = f"http://127.0.0.1:{PORT}"


def percentiles(values: list[float]) -> dict:
    values = sorted(values)

    def at(q: float) -> float:
        return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)

    return {"n": len(values), "p50": at(0.50), "p95": at(0.95), "p99": at(0.99),
            "max": round(values[-1] * 1000, 1)}  # fmt: skip


def start_gunicorn(workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "0",
        # The bench process made the key: the server must hash with the same server key.
        "SECRET_KEY": settings.SECRET_KEY,
        "API_KEY_HMAC_KEY": settings.API_KEY_HMAC_KEY,
        "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "EMAIL_URL": "smtp://127.0.0.1:25",
        "LOG_LEVEL": "WARNING",
        "API_THROTTLE_KEY_RATE": "1000000/m",
        "API_THROTTLE_ORG_RATE": "1000000/m",
    }
    command = [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi:application", "-b",
               f"127.0.0.1:{PORT}", "-w", str(workers), "--access-logfile", "/dev/null"]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    for _ in range(120):
        try:
            requests.get(f"{BASE}/healthz", timeout=2)
            return proc
        except requests.RequestException:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("gunicorn did not start")


def setup(contacts: int):
    slug = f"bench-{uuid.uuid4().hex[:6]}"
    org = Organization.objects.create(name=slug, slug=slug)
    ws = workspace_create(org=org, name="Bench", permissions=["read", "convert"], actor=None)
    _, raw = api_key_create(org=org, workspace=ws, scopes=["read", "convert"], actor=None)
    Contact.objects.bulk_create(
        [Contact(org=org, first_name=f"P{i}") for i in range(contacts)], batch_size=2000
    )
    ids = list(Contact.objects.filter(org=org).values_list("pk", flat=True))
    return org, ws, raw, ids


def post_load(raw: str, ids: list[int], rate: float, seconds: float) -> dict:
    local = threading.local()
    latencies, statuses, lock = [], {}, threading.Lock()

    def one(scheduled: float) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        started = time.perf_counter()
        response = session.post(
            f"{BASE}/api/v1/conversions",
            json={"contact_id": random.choice(ids), "conversion_type": random.choice(
                ["sale", "upsell", "booking"]), "conversion_value": random.randint(1, 5000)},
            headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": uuid.uuid4().hex},
            timeout=10,
        )  # fmt: skip
        took = time.perf_counter() - started
        with lock:
            latencies.append(took)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    total = int(rate * seconds)
    t0 = time.perf_counter() + 0.5
    with ThreadPoolExecutor(max_workers=64) as pool:
        for i in range(total):
            pool.submit(one, t0 + i / rate)
    elapsed = time.perf_counter() - t0
    return {"rate": rate, "achieved_rate": round(total / elapsed, 1), "statuses": statuses,
            **percentiles(latencies)}  # fmt: skip


def fill(org, ws, ids: list[int], conversions: int) -> float:
    """Conversions over the last 365 days straight in SQL, with rollups and statuses."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO api_conversion (org_id, contact_id, workspace_id, lead_id, converted_by,
                conversion_type, conversion_value, currency, converted_at, custom_data,
                external_id, idempotency_key, request_hash, created_at)
            SELECT %s, (%s::bigint[])[1 + (g %% %s)], %s, '', '',
                (ARRAY['sale','upsell','booking','renewal'])[1 + (g %% 4)],
                (g %% 5000)::numeric, 'USD',
                now() - (g %% 365) * interval '1 day' - (g %% 86400) * interval '1 second',
                '{}'::jsonb, '', '', '', now()
            FROM generate_series(1, %s) AS g
            """,
            [org.pk, ids, len(ids), ws.pk, conversions],
        )
        cursor.execute("DELETE FROM api_conversionrollup WHERE org_id = %s", [org.pk])
        cursor.execute(
            """
            INSERT INTO api_conversionrollup (org_id, day, workspace_id, conversion_type,
                currency, count, value)
            SELECT org_id, (converted_at AT TIME ZONE %s)::date, workspace_id, conversion_type,
                currency, count(*), sum(conversion_value)
            FROM api_conversion WHERE org_id = %s GROUP BY 1, 2, 3, 4, 5
            """,
            [org.timezone, org.pk],
        )
        cursor.execute(
            """
            INSERT INTO api_contactconversion (org_id, contact_id, status, converted_from_id,
                converted_by, metadata, first_converted_at, updated_at)
            SELECT org_id, contact_id, 'converted', min(workspace_id), '', '{}'::jsonb,
                min(converted_at), now()
            FROM api_conversion WHERE org_id = %s GROUP BY 1, 2
            ON CONFLICT (contact_id) DO UPDATE SET first_converted_at = EXCLUDED.first_converted_at
            """,
            [org.pk],
        )
        cursor.execute(
            "ANALYZE api_conversion; ANALYZE api_conversionrollup; ANALYZE contacts_contact; ANALYZE api_contactconversion"
        )
    return round(time.perf_counter() - started, 1)


def read_load(raw: str, reads: int, days: int) -> dict:
    from datetime import date, timedelta

    session = requests.Session()
    end = date.today()
    params = {"from": (end - timedelta(days=days - 1)).isoformat(), "to": end.isoformat()}
    latencies = []
    for _ in range(reads):
        started = time.perf_counter()
        response = session.get(f"{BASE}/api/v1/conversions/analytics", params=params,
                               headers={"Authorization": f"Bearer {raw}"}, timeout=10)  # fmt: skip
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return {"days": days, "conversions": response.json()["summary"]["conversions"],
            **percentiles(latencies)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--conversions", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    org, ws, raw, ids = setup(args.contacts)
    print(f"org {org.slug}: {len(ids)} contacts", flush=True)
    server = start_gunicorn(args.workers)
    try:
        # Warm every worker (imports, connections) before measuring.
        for _ in range(40):
            requests.get(f"{BASE}/api/v1/contacts?limit=1",
                         headers={"Authorization": f"Bearer {raw}"}, timeout=10)  # fmt: skip
        print("warm", flush=True)
        post = post_load(raw, ids, args.rate, args.seconds)
        print("POST /api/v1/conversions", json.dumps(post))
        logged = post["n"]
        fill_seconds = fill(org, ws, ids, max(0, args.conversions - logged))
        print(f"filled to {args.conversions} conversions in {fill_seconds} s")
        reads = [read_load(raw, args.reads, days) for days in (30, 365)]
        for r in reads:
            print("GET /api/v1/conversions/analytics", json.dumps(r))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(json.dumps({"post": post, "analytics": reads, "fill_seconds": fill_seconds}))


if __name__ == "__main__":
    main()
