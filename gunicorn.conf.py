# Read by gunicorn from its working directory (the Dockerfile's CMD runs it in /app).
# Access-log lines go through a logger that takes password-reset keys out of them.
logger_class = "config.log_redaction.RedactingGunicornLogger"

# --- metrics (issue 25) ---
# Each worker writes its request counters to files in PROMETHEUS_MULTIPROC_DIR and /metrics adds
# them all up (config/metrics.py); a counter in one worker's memory would show a scrape that
# worker's share only. Without the variable the master makes a private directory before it forks
# (the app is not preloaded, so no worker has imported prometheus_client yet).
import os  # noqa: E402 - kept inside this block so the other blocks stay as they are
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402


def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="attribution-metrics-")
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    # Files of a previous run's workers would be added to this run's counts for ever.
    for stale in path.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


# --- end metrics ---


# --- task publishing ---
def worker_exit(server, worker):
    # Tasks a webhook acknowledgement handed to the publisher thread (apps/orgs/publisher.py)
    # go out before a gracefully stopping worker is gone; the requeue sweep covers a crash.
    from apps.orgs.publisher import drain

    drain()
