import statistics
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.test import Client


class Command(BaseCommand):
    help = "Times GET /readyz through the whole middleware stack; prints p50/p95/max (ms)."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=500)

    def handle(self, *args, requests, **options):
        host = next((h.lstrip(".") for h in settings.ALLOWED_HOSTS if h != "*"), "localhost")
        client = Client(HTTP_HOST=host, headers={"X-Forwarded-Proto": "https"})
        # The first answer builds the migration graph and opens the connections: a process
        # pays it once, so it is reported apart.
        started = time.perf_counter()
        first = client.get("/readyz")
        first_ms = (time.perf_counter() - started) * 1000
        timings, statuses = [], set()
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get("/readyz")
            timings.append((time.perf_counter() - started) * 1000)
            statuses.add(response.status_code)
        timings.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        self.stdout.write(
            f"first {first_ms:.1f} ms (status {first.status_code}); {requests} requests, "
            f"statuses {sorted(statuses)}: p50 {statistics.median(timings):.2f} ms, "
            f"p95 {p95:.2f} ms, max {timings[-1]:.2f} ms"
        )
