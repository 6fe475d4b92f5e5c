"""Running ``turnout syslog serve`` in tests: the real command in a subprocess, senders,
its metrics, and reading what reached Kafka."""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from confluent_kafka import Consumer, TopicPartition

from turnout.devstack.process import free_port

#: Spawning the workers and importing confluent-kafka takes a few seconds; a loaded CI
#: machine takes longer.
START_TIMEOUT_S: Final = 90.0
#: A stop flushes Kafka for up to 3 s, then spools; SIGKILL after this.
STOP_TIMEOUT_S: Final = 60.0
_METRIC = re.compile(r"^(\w+)(\{[^}]*\})? (\S+)$", re.M)


class SyslogServer:
    """One ``turnout syslog serve`` with free ports; ``start``/``stop`` keep its spool."""

    def __init__(self, workdir: Path, bootstrap: str, *extra: str, workers: int = 2) -> None:
        self.workdir = workdir
        self.tcp_port = free_port()
        self.udp_port = free_port()
        self.http_port = free_port()
        self.spool_dir = workdir / "spool"
        self.log_file = workdir / "syslog-server.log"
        self._command = [
            sys.executable, "-m", "turnout", "syslog", "serve",
            "--host", "127.0.0.1", "--kafka-bootstrap", bootstrap,
            "--tcp-port", str(self.tcp_port), "--udp-port", str(self.udp_port),
            "--http-port", str(self.http_port), "--spool-dir", str(self.spool_dir),
            "--workers", str(workers), *extra,
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(self._command, stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited:\n{self.log_tail()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.url("/healthz"), timeout=2) as answer,
            ):
                if answer.status == 200:
                    return
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"the server did not become healthy:\n{self.log_tail()}")

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"no stop on SIGTERM:\n{self.log_tail()}") from exc

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    def metrics(self) -> dict[str, float]:
        """``name{labels}`` → value, every worker added up."""
        with urllib.request.urlopen(self.url("/metrics"), timeout=5) as answer:
            text = answer.read().decode()
        return {
            name + (labels or ""): float(value) for name, labels, value in _METRIC.findall(text)
        }

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


@contextlib.contextmanager
def running(server: SyslogServer) -> Iterator[SyslogServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def octet(*messages: bytes) -> bytes:
    return b"".join(b"%d %s" % (len(m), m) for m in messages)


def line(number: int, tag: str = "t") -> bytes:
    return b"<134>1 2026-12-06T10:00:00.000Z host%d app%d %d - - %s n=%d" % (
        number % 5, number % 3, number, tag.encode(), number,
    )  # fmt: skip


def send_and_drain(port: int, payload: bytes, wrap: ssl.SSLContext | None = None) -> None:
    """Send ``payload`` on a new connection, close our side, and wait for the server to
    close its side: then it has read every byte."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
        if wrap is None:
            _send_and_drain(raw, payload)
        else:
            with wrap.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
                _send_and_drain(conn, payload)


def _send_and_drain(conn: socket.socket, payload: bytes) -> None:
    conn.sendall(payload)
    conn.shutdown(socket.SHUT_WR)
    # A TLS server closing without close_notify is still a close.
    with contextlib.suppress(ssl.SSLEOFError, ssl.SSLZeroReturnError):
        while conn.recv(65536):
            pass


class LoadSender:
    """Sends numbered octet-counted lines over ``connections`` connections at about
    ``rate`` lines/s until ``stop``; ``pause_and_drain`` closes the connections after
    the server read everything, ``resume`` opens new ones. ``sent`` is every number
    whose bytes the server has read (drained) or that is still in flight."""

    def __init__(self, port: int, rate: int, connections: int = 4) -> None:
        self.port = port
        self.rate = rate
        self.connections = connections
        self.next_number = 0
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def _claim(self, count: int) -> range:
        with self._lock:
            first = self.next_number
            self.next_number += count
        return range(first, first + count)

    def _one(self) -> None:
        batch = max(1, self.rate // self.connections // 50)  # 50 writes a second each
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=60) as conn:
                while self._running.is_set():
                    started = time.monotonic()
                    conn.sendall(octet(*(line(n) for n in self._claim(batch))))
                    time.sleep(max(0.0, 0.02 - (time.monotonic() - started)))
                conn.shutdown(socket.SHUT_WR)
                while conn.recv(65536):
                    pass
        except BaseException as exc:
            self.errors.append(exc)

    def resume(self) -> None:
        self._running.set()
        self._threads = [threading.Thread(target=self._one) for _ in range(self.connections)]
        for thread in self._threads:
            thread.start()

    def pause_and_drain(self) -> None:
        self._running.clear()
        for thread in self._threads:
            thread.join(120)
        assert not self.errors, self.errors


def read_numbers(bootstrap: str, topic: str, partitions: int, settle_s: float = 5.0) -> list[int]:
    """Every ``n=<number>`` in the topic (with repeats), read until nothing new came for
    ``settle_s``."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"read-{uuid.uuid4().hex}",
         "auto.offset.reset": "earliest", "enable.auto.commit": False}
    )  # fmt: skip
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    numbers: list[int] = []
    last_new = time.monotonic()
    try:
        while time.monotonic() - last_new < settle_s:
            batch = consumer.consume(5000, timeout=0.5)
            for message in batch:
                if message.error() is None:
                    numbers += [int(n) for n in re.findall(rb"n=(\d+)", message.value() or b"")]
            if batch:
                last_new = time.monotonic()
    finally:
        consumer.close()
    return numbers


def wait_for_numbers(
    bootstrap: str, topic: str, partitions: int, expected: set[int], timeout_s: float
) -> set[int]:
    """Read until every expected number is in the topic or ``timeout_s`` passed."""
    deadline = time.monotonic() + timeout_s
    found: set[int] = set()
    while time.monotonic() < deadline:
        found = set(read_numbers(bootstrap, topic, partitions, settle_s=2.0))
        if expected <= found:
            break
    return found
