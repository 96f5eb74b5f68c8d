"""Webhook intake against its floor, side by side in one run: ``make bench-intake``.

One gunicorn (``-w 4``, sync workers, the production settings and middleware plus the floor's
URL: ``floor_settings``) serves both the real Stripe endpoint and the floor view of
``floor_urls`` (HMAC check and inbox insert, nothing else). wrk (``-t2 -c8``) drives each in
turn, alternating, with pre-signed unique deliveries (a Lua script cycles through a file of
them, so no request is a duplicate); then an open-loop sender offers the real endpoint half the
floor's rate and reports its acknowledgement latency. No Celery worker runs: intake is what is
measured, and the queue is emptied afterwards.

    make bench-intake                                  # or, with a database of your own:
    BENCH_DATABASE_URL=postgres://... .venv/bin/python bench/webhooks/side_by_side.py

Prints a table (requests/s, p50/p99 under wrk, ratio to the floor) and one JSON line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/attr_bench_intake"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
SECRET = "whsec_floor_bench"  # noqa: S105  (a bench-only org's secret)
ENV = {
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "DEBUG": "0",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECRET_KEY": "bench-only-secret-key-0123456789abcdef",
    "FIELD_ENCRYPTION_KEY": "b0C7Lw3oQm3Xb8s7tQJm0m1wq3zq5a3vT0xk3m7Zr9U=",
    "EMAIL_URL": "smtp://127.0.0.1:25",
    "SECURE_SSL_REDIRECT": "0",
    "LOG_LEVEL": "WARNING",
    "FLOOR_SECRET": SECRET,
    "DJANGO_SETTINGS_MODULE": "bench.webhooks.floor_settings",
}
os.environ.update(ENV)

LUA = r"""
local reqs, n, i = {}, 0, 0
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  local threads, lineno = tonumber(args[3]), 0
  for line in io.lines(args[1]) do
    if lineno % threads == id then
      local signature, body = line:match("^([^\t]*)\t(.*)$")
      n = n + 1
      reqs[n] = wrk.format("POST", args[2], {
        ["Content-Type"] = "application/json", ["Stripe-Signature"] = signature }, body)
    end
    lineno = lineno + 1
  end
end
function request()
  i = i + 1
  if i > n then i = 1 end  -- wrapped around: the file was too short, duplicates follow
  return reqs[i]
end
"""


def _setup_database() -> None:
    name = DATABASE_URL.rsplit("/", 1)[1]
    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {name}"], capture_output=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True
    )


def _org() -> tuple[str, int]:
    import django

    django.setup()
    from apps.integrations.services import credential_set
    from apps.orgs.models import Organization

    run = uuid.uuid4().hex[:8]
    org = Organization.objects.create(slug=f"intake-{run}", name=f"Intake {run}")
    credential_set(org=org, provider="stripe", name="webhook_secret", value=SECRET, actor=None)
    return org.slug, org.pk


def _deliveries(path: Path, run: str, count: int) -> list[tuple[str, bytes]]:
    sys.path.insert(0, str(ROOT / "bench" / "webhooks"))
    from load import build  # the load test's realistic Stripe charge

    from attribution import signatures as sig

    out = []
    now = int(time.time())
    with path.open("w") as handle:
        for i in range(count):
            body = json.dumps(build("stripe", run, i), separators=(",", ":")).encode()
            signature = sig.sign_stripe(secret=SECRET, body=body, timestamp=now)
            header = signature["Stripe-Signature"]
            handle.write(f"{header}\t{body.decode()}\n")
            out.append((header, body))
    return out


def _wrk(url: str, data: Path, path: str, script: Path, seconds: int) -> dict:
    threads, connections = 2, 8
    result = subprocess.run(
        [
            *("wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"),
            *("-s", str(script), url, "--", str(data), path, str(threads)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    text = result.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))

    def pct(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    return {
        "rps": rps,
        "p50_ms": pct("50"),
        "p99_ms": pct("99"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


def _open_loop(port: int, path: str, deliveries, rate: float, seconds: float) -> dict:
    """Requests due at start + i/rate whatever the earlier ones do: latency, not a lower rate."""
    plan = deliveries[: int(rate * seconds)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def worker(k: int, stride: int) -> None:
        for i in range(k, len(plan), stride):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            header, body = plan[i]
            began = time.perf_counter()
            headers = {"Content-Type": "application/json", "Stripe-Signature": header}
            # gunicorn's sync workers close every connection: a new one per request, as wrk's.
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            with lock:
                latencies.append((time.perf_counter() - began) * 1000)
                statuses[response.status] = statuses.get(response.status, 0) + 1

    stride = 32
    threads = [threading.Thread(target=worker, args=(k, stride)) for k in range(stride)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "rate": round(rate, 1),
        "requests": len(latencies),
        "p50_ms": round(latencies[len(latencies) // 2], 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15, help="per wrk round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per endpoint")
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: `make bench-intake` installs it")

    _setup_database()
    slug, org_id = _org()
    env = {**os.environ, "FLOOR_ORG_ID": str(org_id)}
    # Enough unique deliveries for the fastest endpoint's rounds plus the open-loop pass.
    count = 3000 * args.seconds * args.rounds
    tmp = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    script = tmp / "replay.lua"
    script.write_text(LUA)
    paths = {"app": f"/webhooks/stripe/{slug}/", "floor": "/floor/"}
    data = {name: tmp / f"{name}.tsv" for name in paths}
    for name in paths:
        _deliveries(data[name], f"{name}{uuid.uuid4().hex[:6]}", count)
    half_rate_plan = _deliveries(tmp / "open.tsv", f"open{uuid.uuid4().hex[:6]}", count)

    server = subprocess.Popen(
        [
            *(str(ROOT / ".venv/bin/gunicorn"), "config.wsgi:application"),
            *("-b", f"127.0.0.1:{args.port}", "-w", str(args.workers)),
            *("--access-logfile", "/dev/null"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=1).request(
                    "GET", "/healthz"
                )
                break
            except OSError:
                time.sleep(0.1)
        # Warm every worker's receiver cache and connections before measuring.
        _wrk(url, data["app"], paths["app"], script, 2)
        _wrk(url, data["floor"], paths["floor"], script, 2)
        rounds: dict[str, list[dict]] = {"app": [], "floor": []}
        for _ in range(args.rounds):
            for name in ("app", "floor"):
                rounds[name].append(_wrk(url, data[name], paths[name], script, args.seconds))
        best = {name: max(rows, key=lambda r: r["rps"]) for name, rows in rounds.items()}
        half = _open_loop(
            args.port, paths["app"], half_rate_plan, best["floor"]["rps"] / 2, args.seconds
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        subprocess.run(["redis-cli", "-u", REDIS_URL, "FLUSHDB"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    ratio = best["app"]["rps"] / best["floor"]["rps"]
    print(f"{'endpoint':8s} {'req/s':>8s} {'p50 ms':>7s} {'p99 ms':>7s} {'non-2xx':>7s}")
    for name in ("floor", "app"):
        r = best[name]
        print(f"{name:8s} {r['rps']:8.0f} {r['p50_ms']:7.2f} {r['p99_ms']:7.2f} {r['non_2xx']:7d}")
    print(f"app / floor: {ratio:.2f}x (best of {args.rounds} alternating rounds, wrk -t2 -c8)")
    print(
        f"app at half the floor's rate ({half['rate']} req/s, open loop): "
        f"p50 {half['p50_ms']} ms, p99 {half['p99_ms']} ms, statuses {half['statuses']}"
    )
    print(json.dumps({"rounds": rounds, "best": best, "ratio": round(ratio, 3), "half": half}))


if __name__ == "__main__":
    main()
