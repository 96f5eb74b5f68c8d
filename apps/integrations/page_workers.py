"""Page workers: a sync's pages ingested side by side in child processes.

Past the rate limits, a backfill is bound by one core: half of a page's time is Python (parsing,
identity keys, building rows), which threads cannot spread (the GIL), and the other half is
waiting on PostgreSQL. So a walk with more than one page hands its pages to a few worker
processes, each ingesting whole pages in its own transaction through the same
``ProviderSync.queue_page`` and ``ingest_records`` as a serial run. The process that walks the
list (the coordinator: HTTP, cursor, run counts) never ingests while workers do.

Pages may then commit out of order, so the coordinator saves a walk's resume position only once
every page before it has committed. A run killed mid-way re-reads the pages after that position,
some of which may have committed already: ingestion is idempotent, so they come back unchanged.
Two pages naming one person concurrently are what the page retry in ``sync_pages.PageWriter``
already handles for syncs of different providers.

Workers are plain subprocesses (``python -m apps.integrations.page_workers``) spoken to over their
stdin and stdout with ``multiprocessing.connection``: a Celery prefork child is a daemon process,
which ``multiprocessing`` forbids to start children of its own.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import traceback
from multiprocessing.connection import Connection, wait
from typing import Any

from apps.integrations.errors import quotes_values, run_error_text

# How long a worker may take to say it is ready (Django's start-up) or to stop when asked.
START_TIMEOUT = 60
STOP_TIMEOUT = 10


class PageWorkerError(Exception):
    """A worker stopped or could not apply a page; the walk stops at the last page before it."""


class PagePool:
    """``size`` worker processes, started on the first ``submit``; ``close`` stops them."""

    def __init__(self, size: int, *, settings_module: str, database: dict[str, Any]):
        self.size = size
        self._hello = {"settings": settings_module, "database": database}
        self._workers: list[_Worker] = []
        self._idle: list[_Worker] = []
        self._busy: dict[Connection, _Worker] = {}
        self.peak_rss_mb: list[float] = []

    @property
    def in_flight(self) -> int:
        return len(self._busy)

    def submit(self, job: dict[str, Any]) -> list[dict[str, Any]]:
        """Hands ``job`` to an idle worker, first waiting for one when all are busy; returns the
        results that arrived meanwhile."""
        if not self._workers:
            self._start()
        results = []
        while not self._idle:
            results.extend(self._receive(block=True))
        worker = self._idle.pop()
        worker.send(job)
        self._busy[worker.outbox] = worker
        return results + self._receive(block=False)

    def drain(self) -> list[dict[str, Any]]:
        """Waits for every job handed out; returns their results."""
        results = []
        while self._busy:
            results.extend(self._receive(block=True))
        return results

    def close(self) -> None:
        """Stops the workers: asked to after their jobs, killed if they do not; idempotent."""
        for worker in self._workers:
            rss = worker.stop(ask=worker.outbox not in self._busy)
            if rss is not None:
                self.peak_rss_mb.append(rss)
        self._workers, self._idle, self._busy = [], [], {}

    def _start(self) -> None:
        try:
            for _ in range(self.size):
                self._workers.append(_Worker.start(self._hello))
            for worker in self._workers:
                worker.ready()
        except BaseException:
            self.close()
            raise
        self._idle = list(self._workers)

    def _receive(self, *, block: bool) -> list[dict[str, Any]]:
        if not self._busy:
            return []
        ready = wait(list(self._busy), timeout=None if block else 0)
        results = []
        for outbox in ready:
            worker = self._busy.pop(outbox)
            results.append(worker.result())
            self._idle.append(worker)
        return results


class _Worker:
    def __init__(self, process: subprocess.Popen):
        self.process = process
        # The Connections own duplicates; the Popen keeps (and closes) its own pipe objects.
        self.inbox = Connection(os.dup(process.stdin.fileno()), readable=False)
        self.outbox = Connection(os.dup(process.stdout.fileno()), writable=False)

    @classmethod
    def start(cls, hello: dict[str, Any]) -> _Worker:
        process = subprocess.Popen(
            [sys.executable, "-m", "apps.integrations.page_workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=_project_root(),
        )
        worker = cls(process)
        worker.send(hello)
        return worker

    def ready(self) -> None:
        if not self.outbox.poll(START_TIMEOUT):
            raise PageWorkerError(f"a page worker did not start within {START_TIMEOUT}s")
        message = self.result()
        if "failure" in message:
            raise PageWorkerError(f"a page worker could not start: {message['failure']}")

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.inbox.send(message)
        except OSError as exc:
            raise self._stopped() from exc

    def result(self) -> dict[str, Any]:
        try:
            message = self.outbox.recv()
        except (EOFError, OSError) as exc:
            raise self._stopped() from exc
        return message

    def stop(self, *, ask: bool) -> float | None:
        rss = None
        try:
            if ask and self.process.poll() is None:
                self.inbox.send(None)
                if self.outbox.poll(STOP_TIMEOUT):
                    rss = self.outbox.recv().get("peak_rss_mb")
        except (EOFError, OSError):
            pass
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=STOP_TIMEOUT if ask else 0)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for end in (self.inbox, self.outbox, self.process.stdin, self.process.stdout):
            end.close()
        return rss

    def _stopped(self) -> PageWorkerError:
        code = self.process.poll()
        return PageWorkerError(
            "a page worker stopped" + (f" (exit code {code})" if code is not None else "")
        )


def _project_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# --- the worker process ---------------------------------------------------------------------


def main() -> None:
    inbox = Connection(os.dup(0), writable=False)
    outbox = Connection(os.dup(1), readable=False)
    # Whatever prints to stdout (a stray print, a logging handler) must not corrupt the protocol.
    os.dup2(2, 1)
    hello = inbox.recv()
    os.environ["DJANGO_SETTINGS_MODULE"] = hello["settings"]
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    # The coordinator's database, which under pytest is the test database, not the configured one.
    connections["default"].settings_dict.update(hello["database"])
    settings.DEBUG = False  # DEBUG would keep every statement of a backfill in memory
    from apps.integrations.side_by_side import page_apply
    from apps.integrations.sync import collect_less_often

    outbox.send({"ready": True})
    with collect_less_often():
        _serve(inbox, outbox, page_apply)


def _serve(inbox: Connection, outbox: Connection, page_apply) -> None:
    while True:
        try:
            job = inbox.recv()
        except EOFError:
            return  # the coordinator is gone; an uncommitted page is rolled back with us
        if job is None:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            outbox.send({"peak_rss_mb": round(peak, 1)})
            return
        try:
            outbox.send(page_apply(job))
        except Exception as exc:
            if not quotes_values(exc):  # a database error's traceback quotes the refused value
                traceback.print_exc()
            outbox.send({"seq": job.get("seq"), "failure": run_error_text(exc)})


if __name__ == "__main__":
    main()
