"""``turnout syslog serve``: N worker processes, the metrics and health endpoint.

The supervisor binds no syslog socket itself. Before the workers start it moves the
spool segments of worker indices that will not run this time (the worker count went
down) in front of a running worker's, so nothing spooled is stranded. It serves
``/metrics`` (every worker's values, added up) and ``/healthz`` (200 while every worker
is alive and serving, else 503) on ``http_port``.

States: STARTING (spawn every worker, wait for each to say it is serving) → RUNNING (a
worker that dies is started again after ``RESTART_DELAY_S``; its spool is replayed) →
STOPPING on SIGTERM/SIGINT (SIGTERM to every worker, wait ``WORKER_STOP_S`` each, then
SIGKILL) → exit 0, or 1 if a worker could not start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from turnout.syslog import logs, spool
from turnout.syslog.settings import SyslogSettings

if TYPE_CHECKING:
    from prometheus_client import Metric

log = logging.getLogger(__name__)

#: A worker binds its sockets and opens its spool in well under a second; a loaded
#: machine and a large spool to count take longer.
WORKER_START_S: Final = 60.0
#: A worker's stop flushes Kafka for up to delivery.SHUTDOWN_FLUSH_S, then writes what is
#: left to disk; this bounds the whole of it before SIGKILL.
WORKER_STOP_S: Final = 30.0
#: A worker that died is started again after this (a crash loop does not spin).
RESTART_DELAY_S: Final = 1.0
_WATCH_INTERVAL_S: Final = 0.2


_CONTEXT: Final = multiprocessing.get_context("spawn")


class Worker:
    def __init__(self, index: int, settings_json: str, counts: Any) -> None:
        self.index = index
        self._settings_json = settings_json
        self._counts = counts
        self.ready = _CONTEXT.Event()
        self.process: BaseProcess | None = None

    def start(self) -> None:
        from turnout.syslog import worker

        self.ready.clear()
        if self._counts is not None:
            self._counts[self.index] = 0  # a restarted worker starts with no connection
        self.process = _CONTEXT.Process(
            target=worker.run,
            args=(self._settings_json, self.index, self.ready, self._counts, os.getpid()),
            name=f"turnout-syslog-worker-{self.index}",
        )
        self.process.start()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.is_alive() and self.process.pid is not None:
            os.kill(self.process.pid, signal.SIGTERM)
        self.process.join(WORKER_STOP_S)
        if self.process.is_alive():
            log.error("worker did not stop in time: killed", extra={"worker_index": self.index})
            self.process.kill()
            self.process.join()


def adopt_orphan_spools(settings: SyslogSettings) -> None:
    if not settings.spool_dir.is_dir():
        return
    for directory in settings.spool_dir.glob("worker-*"):
        suffix = directory.name.removeprefix("worker-")
        if not suffix.isdigit() or int(suffix) < settings.workers:
            continue
        target = settings.spool_dir / f"worker-{int(suffix) % settings.workers}"
        moved = spool.adopt(directory, target)
        if moved:
            log.info(
                "spool of a worker index not running this time handed over",
                extra={"event": "spool-adopted", "from": str(directory), "to": str(target),
                       "segments": moved},
            )  # fmt: skip


#: The header of a worker's metrics file (prometheus-client's ``MmapedDict``: the bytes
#: used, then padding). A file shorter than this is one a worker is creating right now
#: (made empty, then sized): its values are not written yet.
_METRICS_FILE_HEADER_BYTES = 8


def metrics_exposition(directory: Path) -> tuple[str, bytes]:
    """Every worker's metrics in ``directory`` added up, as a scrape's content type and
    body. A file a worker is still creating is left to the next scrape: read now it
    would fail the whole scrape."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    files = []
    for path in directory.glob("*.db"):
        # A worker marked dead meanwhile has its files removed: nothing of it to read.
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size >= _METRICS_FILE_HEADER_BYTES:
                files.append(str(path))
    registry = CollectorRegistry()
    registry.register(_WorkerFiles(files))
    return CONTENT_TYPE_LATEST, generate_latest(registry)


class _WorkerFiles:
    """A collector of the given worker metrics files, added up."""

    def __init__(self, files: list[str]) -> None:
        self._files = files

    def collect(self) -> Iterable[Metric]:
        from prometheus_client.multiprocess import MultiProcessCollector

        merged: Iterable[Metric] = MultiProcessCollector.merge(self._files, accumulate=True)  # type: ignore[no-untyped-call]
        return merged


class _Endpoint(BaseHTTPRequestHandler):
    supervisor: Supervisor

    def do_GET(self) -> None:
        if self.path == "/metrics":
            try:
                status, kind, body = 200, *self.supervisor.metrics()
            except Exception as exc:  # a scrape that fails says so, instead of hanging up
                log.exception("the metrics could not be read", extra={"event": "metrics-error"})
                status, kind = 500, "text/plain"
                body = f"the metrics could not be read: {exc}\n".encode()
        elif self.path in ("/healthz", "/readyz"):
            healthy, report = self.supervisor.health()
            status, kind = (200 if healthy else 503), "application/json"
            body = json.dumps(report).encode()
        else:
            status, kind, body = 404, "text/plain", b"not found\n"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # scrapes every few seconds are not news


class Supervisor:
    def __init__(self, settings: SyslogSettings) -> None:
        self.settings = settings
        self._stopping = threading.Event()
        self._metrics_dir = Path(tempfile.mkdtemp(prefix="turnout-syslog-metrics-"))
        # Set before any worker is spawned: prometheus-client reads it at import.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(self._metrics_dir)
        payload = settings.model_dump_json()
        #: Open plain TCP/Unix connections per worker, for the balancer (see balance.py).
        counts = _CONTEXT.Array("i", settings.workers) if settings.workers > 1 else None
        self.workers = [Worker(index, payload, counts) for index in range(settings.workers)]
        self._http: ThreadingHTTPServer | None = None

    def metrics(self) -> tuple[str, bytes]:
        return metrics_exposition(self._metrics_dir)

    def health(self) -> tuple[bool, dict[str, Any]]:
        serving = [w.index for w in self.workers if w.alive and w.ready.is_set()]
        healthy = len(serving) == len(self.workers) and not self._stopping.is_set()
        return healthy, {
            "status": "ok" if healthy else "degraded",
            "workers": len(self.workers),
            "serving": len(serving),
            "listeners": self.settings.listener_names,
        }

    def _serve_http(self) -> None:
        if not self.settings.http_port:
            return
        handler = type("Endpoint", (_Endpoint,), {"supervisor": self})
        self._http = ThreadingHTTPServer(
            (self.settings.http_host, self.settings.http_port), handler
        )
        threading.Thread(target=self._http.serve_forever, name="syslog-http", daemon=True).start()

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self._stopping.set())
        adopt_orphan_spools(self.settings)
        try:
            for worker in self.workers:
                worker.start()
            deadline = time.monotonic() + WORKER_START_S
            for worker in self.workers:
                while not worker.ready.wait(_WATCH_INTERVAL_S):
                    if not worker.alive or time.monotonic() > deadline:
                        log.error("a worker did not start", extra={"worker_index": worker.index})
                        return 1
                    if self._stopping.is_set():
                        return 0
            self._serve_http()
            log.info(
                "syslog server up",
                extra={"event": "up", "workers": len(self.workers),
                       "listeners": ",".join(self.settings.listener_names)},
            )  # fmt: skip
            self._watch()
            return 0
        finally:
            self._shutdown()

    def _watch(self) -> None:
        from prometheus_client import multiprocess

        while not self._stopping.wait(_WATCH_INTERVAL_S):
            for worker in self.workers:
                if worker.alive or worker.process is None:
                    continue
                log.error(
                    "a worker exited: starting it again",
                    extra={"event": "worker-restart", "worker_index": worker.index,
                           "exit_code": worker.process.exitcode},
                )  # fmt: skip
                if worker.process.pid is not None:
                    multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
                        worker.process.pid, str(self._metrics_dir)
                    )
                if self._stopping.wait(RESTART_DELAY_S):
                    return
                worker.start()

    def _shutdown(self) -> None:
        self._stopping.set()
        for worker in self.workers:
            if worker.alive and worker.process is not None and worker.process.pid is not None:
                os.kill(worker.process.pid, signal.SIGTERM)
        for worker in self.workers:
            worker.stop()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        shutil.rmtree(self._metrics_dir, ignore_errors=True)
        log.info("syslog server stopped", extra={"event": "down"})


def serve(settings: SyslogSettings) -> int:
    logs.configure(settings.log_level)
    return Supervisor(settings).run()
