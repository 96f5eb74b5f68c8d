"""Request counters across gunicorn workers: each worker counts, every scrape sees the sum."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "gunicorn-scrape-token"
REQUESTS = 24


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthz_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "attribution_http_responses_total" and s.labels == {
                "view": "healthz",
                "method": "GET",
                "status": "2xx",
            }:
                return s.value
    return 0


@pytest.mark.django_db
def test_every_scrape_sees_the_requests_of_every_worker(tmp_path):
    db = connection.settings_dict
    user = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    port = _free_port()
    env = {
        **os.environ,
        # The test database: its tables exist, which is all the scrape needs.
        "DATABASE_URL": f"postgres://{user}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "-w",
            "3",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                # A long read timeout: a warm-up request that timed out on a loaded machine would
                # still be answered, and counted, once a worker is up.
                requests.get(f"{base}/healthz", timeout=(5, 60))
                break
            except (requests.ConnectionError, requests.Timeout):
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        # Fresh connections, so the workers share them out between themselves.
        for _ in range(REQUESTS):
            assert requests.get(f"{base}/healthz", timeout=30).status_code == 200
        counts = []
        for _ in range(6):
            response = requests.get(
                f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
            )
            assert response.status_code == 200
            counts.append(_healthz_count(response.text))
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The warm-up request is counted too.
    assert counts == [REQUESTS + 1] * 6
    # More than one worker wrote counters: the sum really spans processes.
    assert len({p.name.split("_")[-1] for p in tmp_path.glob("counter_*.db")}) > 1
