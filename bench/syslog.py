"""Syslog into Kafka, Turnout against rsyslog's omkafka: ``python -m bench.syslog``.

Prints one JSON object. Same machine, same run, same Kafka (a broker of the benchmark's
own, so it can be stopped): the same ``--lines`` RFC 5424 lines (half with structured
data), octet-counted, over ``--connections`` TCP connections, to each server in turn;
each side's records are read back from Kafka and counted by the sequence number every
line carries.

- ``turnout_lines_per_s`` / ``rsyslog_lines_per_s``: JSON of the parsed fields (Turnout's
  ``--format json``; rsyslog's list template of the same fields with ``jsonf``);
- ``turnout_raw_lines_per_s`` / ``rsyslog_raw_lines_per_s``: the line as received
  (Turnout's ``--format raw``; rsyslog's ``%rawmsg%``);
- ``ratio`` = Turnout / rsyslog on JSON, ``ratio_raw`` on raw; ``lost`` per side (summed
  over the rounds). Rates are medians over ``--rounds`` rounds, each round running every
  side and format once, the order alternating.

A rate is lines over the time from the first byte sent to the last line in Kafka (the
topic's end offsets, read every ``WATCH_INTERVAL_S``).

``outage``: per side, ``--outage-lines`` lines in three parts: the first with Kafka up;
then Kafka is stopped, the second part sent, the server stopped and started again, and
Kafka started again ``OUTAGE_S`` after it stopped; then the third part. The sender
closes its connections after each part and waits for the server to close them, so every
line was read by the server before anything is stopped: what is missing in Kafka was
lost by the server. rsyslog is given its documented options for this
(``resubmitOnFailure``, ``keepFailedMessages`` with a ``failedMsgFile``, a disk-assisted
action queue that saves on shutdown); its throughput runs use its plain, fastest
configuration. Turnout runs its defaults in both.

Needs ``rsyslogd`` with omkafka (Debian: ``rsyslog`` and ``rsyslog-kafka``, installed by
scripts/system-deps.sh) and Java for the broker.

Why this module is long: both servers' set-up (rsyslog's generated configuration, Turnout's
workers), the load, the read-back and the outage run share one rig and one JSON report.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from turnout.devstack.process import free_port
from turnout.devstack.standalone import StandaloneKafka

LINES: Final = 1_000_000
#: Throughput rounds; figures are medians (the shared machine's load moves single runs).
ROUNDS: Final = 3
CONNECTIONS: Final = 8
PARTITIONS: Final = 8
OUTAGE_LINES: Final = 300_000
#: How long Kafka stays stopped in the outage run.
OUTAGE_S: Final = 10.0
WATCH_INTERVAL_S: Final = 0.02
#: A side that has not delivered everything this long after its last increase has lost
#: the rest (the outage run waits longer: a restarted broker and a replay come first).
SETTLE_S: Final = 20.0
OUTAGE_SETTLE_S: Final = 90.0
#: Each server starts in seconds; a loaded machine takes longer.
SERVER_START_S: Final = 60.0
SERVER_STOP_S: Final = 60.0
#: A sender waits this long for the server to close a connection it finished writing.
DRAIN_TIMEOUT_S: Final = 120.0
SEQUENCE: Final = re.compile(rb"n=(\d+)")
#: The same librdkafka settings on both sides where they mean the same thing.
LINGER_MS: Final = 20


# ---- lines and senders ------------------------------------------------------------------


def make_lines(count: int, first: int = 0) -> list[bytes]:
    """RFC 5424 lines, every other one with structured data, each with ``n=<number>``."""
    lines = []
    for number in range(first, first + count):
        host = b"host%d.example.com" % (number % 50)
        app = b"app%d" % (number % 7)
        sd = (
            b'[origin@32473 ip="192.0.2.%d" software="bench"]' % (number % 250)
            if number % 2
            else b"-"
        )
        lines.append(
            b"<%d>1 2026-12-06T10:%02d:%02d.%06dZ %s %s %d ID%d %s n=%d user login "
            b"accepted for account %d from terminal pts/%d"
            % (number % 192, number % 60, (number // 60) % 60, number % 1_000_000, host, app,
               1000 + number % 9000, number % 40, sd, number, number % 977, number % 16)
        )  # fmt: skip
    return lines


def octet_payloads(lines: list[bytes], connections: int) -> list[bytes]:
    return [
        b"".join(b"%d %s" % (len(line), line) for line in lines[index::connections])
        for index in range(connections)
    ]


def send(port: int, payloads: list[bytes]) -> float:
    """Send each payload over its own connection at once; wait until the server has read
    everything (it closes the connection after our EOF). Returns the first byte's time."""
    started = threading.Barrier(len(payloads) + 1)
    errors: list[BaseException] = []

    def one(payload: bytes) -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=DRAIN_TIMEOUT_S) as conn:
                started.wait()
                conn.sendall(payload)
                conn.shutdown(socket.SHUT_WR)
                while conn.recv(65536):
                    pass
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
            started.abort()

    threads = [threading.Thread(target=one, args=(payload,)) for payload in payloads]
    for thread in threads:
        thread.start()
    started.wait()
    first_byte = time.monotonic()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"a sender failed: {errors[0]!r}")
    return first_byte


# ---- Kafka ------------------------------------------------------------------------------


def create_topic(bootstrap: str, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, PARTITIONS, 1)])[name].result(60)


class EndOffsets:
    """The number of records in a topic, from its partitions' end offsets."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": f"bench-watch-{uuid.uuid4().hex}",
             "log_level": 0}
        )  # fmt: skip
        self._partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]

    def count(self) -> int:
        try:
            return sum(
                self._consumer.get_watermark_offsets(tp, timeout=5, cached=False)[1]
                for tp in self._partitions
            )
        except Exception:  # the broker is down in the outage run
            return -1

    def wait_for(self, expected: int, settle_s: float) -> tuple[int, float]:
        """Poll until ``expected`` records are in, or none came for ``settle_s``;
        returns the count and when the last increase was seen."""
        last_count, last_change = -1, time.monotonic()
        while True:
            count = self.count()
            now = time.monotonic()
            if count > last_count:
                last_count, last_change = count, now
            if count >= expected or now - last_change > settle_s:
                return max(last_count, 0), last_change
            time.sleep(WATCH_INTERVAL_S)

    def close(self) -> None:
        self._consumer.close()


@dataclass
class ReadBack:
    distinct: int
    duplicates: int


def read_back(bootstrap: str, topic: str, expected_numbers: range) -> ReadBack:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"bench-read-{uuid.uuid4().hex}",
         "auto.offset.reset": "earliest", "enable.auto.commit": False, "log_level": 0}
    )  # fmt: skip
    ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
            for p in range(PARTITIONS)}  # fmt: skip
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS) if ends[p] > 0])
    remaining = sum(ends.values())
    seen: set[int] = set()
    records = 0
    deadline = time.monotonic() + 600
    while remaining > 0 and time.monotonic() < deadline:
        batch = consumer.consume(10_000, timeout=1.0)
        values = [m.value() or b"" for m in batch if m.error() is None]
        remaining -= len(values)
        records += len(values)
        seen.update(int(n) for n in SEQUENCE.findall(b"\n".join(values)))
    consumer.close()
    found = seen & set(expected_numbers)
    return ReadBack(distinct=len(found), duplicates=records - len(found))


# ---- the servers ------------------------------------------------------------------------


class Server(Protocol):
    name: str
    port: int

    def start(self) -> None: ...
    def stop(self) -> None: ...


def _wait_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode}: {log.read_text()[-2000:]}"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {port}: {log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(SERVER_STOP_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class TurnoutServer:
    name = "turnout"

    def __init__(
        self, workdir: Path, bootstrap: str, topic: str, value_format: str, safe: bool
    ) -> None:
        # Turnout has one configuration: the same code keeps lines in both kinds of run.
        self.port = free_port()
        self._http_port = free_port()
        self._workdir = workdir
        self._command = [
            sys.executable, "-m", "turnout", "syslog", "serve",
            "--kafka-bootstrap", bootstrap, "--topic", topic, "--format", value_format,
            "--host", "127.0.0.1", "--tcp-port", str(self.port), "--udp-port", "0",
            "--http-port", str(self._http_port), "--spool-dir", str(workdir / "spool"),
            "--log-level", "WARNING",
        ]  # fmt: skip
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self._workdir / "turnout.log"
        with log.open("ab") as out:
            self._process = subprocess.Popen(self._command, stdout=out, stderr=out)
        _wait_port(self.port, self._process, log)
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self._http_port}/healthz") as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("turnout syslog serve did not become healthy")

    def stop(self) -> None:
        _stop(self._process)


RSYSLOG_CONF: Final = """
global(workDirectory="{work}" maxMessageSize="8k")
module(load="imtcp" maxSessions="200")
module(load="omkafka")
template(name="raw" type="string" string="%rawmsg%")
template(name="json" type="list" option.jsonf="on") {{
  property(outname="facility" name="syslogfacility" format="jsonf" datatype="number")
  property(outname="severity" name="syslogseverity" format="jsonf" datatype="number")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="host" name="hostname" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}}
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="to_kafka")
ruleset(name="to_kafka" queue.type="LinkedList" queue.size="500000"
        queue.dequeueBatchSize="1024" queue.workerThreads="2") {{
  action(type="omkafka" broker=["{bootstrap}"] topic="{topic}" template="{template}"
         partitions.auto="on"
         confParam=["linger.ms={linger}", "batch.num.messages=10000",
                    "queue.buffering.max.messages=100000", "socket.keepalive.enable=true"]
         topicConfParam=["request.required.acks=-1"]
         {safety})
}}
"""
#: rsyslog's documented options against loss (outage runs only: the throughput runs give
#: rsyslog its fastest plain configuration): resubmit what librdkafka failed, save what it
#: still holds at shutdown to a file, and a disk-assisted action queue saved on shutdown.
RSYSLOG_SAFETY: Final = """resubmitOnFailure="on" keepFailedMessages="on"
         failedMsgFile="{work}/omkafka-failed.data"
         queue.type="LinkedList" queue.filename="omkafka-q" queue.saveOnShutdown="on"
         queue.size="200000" queue.dequeueBatchSize="1024" action.resumeRetryCount="-1"
"""


class RsyslogServer:
    name = "rsyslog"

    def __init__(
        self, workdir: Path, bootstrap: str, topic: str, value_format: str, safe: bool
    ) -> None:
        self.port = free_port()
        self._workdir = workdir
        (workdir / "work").mkdir(parents=True, exist_ok=True)
        self._conf = workdir / "rsyslog.conf"
        safety = RSYSLOG_SAFETY.format(work=workdir / "work") if safe else ""
        self._conf.write_text(
            RSYSLOG_CONF.format(
                work=workdir / "work", port=self.port, bootstrap=bootstrap, topic=topic,
                template="json" if value_format == "json" else "raw", linger=LINGER_MS,
                safety=safety,
            )
        )  # fmt: skip
        self._pidfile = workdir / "rsyslogd.pid"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        rsyslogd = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
        log = self._workdir / "rsyslog.log"
        with log.open("ab") as out:
            self._process = subprocess.Popen(
                [rsyslogd, "-n", "-f", str(self._conf), "-i", str(self._pidfile)],
                stdout=out, stderr=out,
            )  # fmt: skip
        _wait_port(self.port, self._process, log)

    def stop(self) -> None:
        _stop(self._process)


ServerFactory = Callable[[Path, str, str, str, bool], Server]
SIDES: Final[dict[str, ServerFactory]] = {"turnout": TurnoutServer, "rsyslog": RsyslogServer}


# ---- the runs -----------------------------------------------------------------------------


def throughput(
    side: str, kafka: StandaloneKafka, root: Path, value_format: str, lines: list[bytes],
    connections: int,
) -> dict[str, Any]:  # fmt: skip
    topic = f"bench-{side}-{value_format}-{uuid.uuid4().hex[:6]}"
    create_topic(kafka.bootstrap, topic)
    workdir = Path(tempfile.mkdtemp(prefix=f"{side}-{value_format}-", dir=root))
    server = SIDES[side](workdir, kafka.bootstrap, topic, value_format, False)
    payloads = octet_payloads(lines, connections)
    watch = EndOffsets(kafka.bootstrap, topic)
    server.start()
    try:
        first_byte = send(server.port, payloads)
        count, last = watch.wait_for(len(lines), SETTLE_S)
    finally:
        server.stop()
        watch.close()
    back = read_back(kafka.bootstrap, topic, range(len(lines)))
    elapsed = last - first_byte
    return {
        "lines_per_s": round(count / elapsed) if elapsed > 0 else None,
        "seconds": round(elapsed, 3),
        "lost": len(lines) - back.distinct,
        "duplicates": back.duplicates,
    }


def outage(
    side: str, kafka: StandaloneKafka, root: Path, total: int, connections: int
) -> dict[str, Any]:
    topic = f"bench-outage-{side}-{uuid.uuid4().hex[:6]}"
    create_topic(kafka.bootstrap, topic)
    workdir = Path(tempfile.mkdtemp(prefix=f"{side}-outage-", dir=root))
    server = SIDES[side](workdir, kafka.bootstrap, topic, "raw", True)
    third = total // 3
    parts = [
        make_lines(third, 0),
        make_lines(third, third),
        make_lines(total - 2 * third, 2 * third),
    ]
    timeline: dict[str, float] = {}
    server.start()
    start = time.monotonic()
    try:
        send(server.port, octet_payloads(parts[0], connections))
        kafka.stop()
        stopped = time.monotonic()
        timeline["kafka_stopped_s"] = round(stopped - start, 2)
        send(server.port, octet_payloads(parts[1], connections))
        server.stop()
        server.start()
        timeline["server_restarted_s"] = round(time.monotonic() - start, 2)
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
        kafka.start()
        timeline["kafka_back_s"] = round(time.monotonic() - start, 2)
        send(server.port, octet_payloads(parts[2], connections))
        watch = EndOffsets(kafka.bootstrap, topic)
        watch.wait_for(total, OUTAGE_SETTLE_S)
        watch.close()
    finally:
        server.stop()
        if not kafka.running:
            kafka.start()
    back = read_back(kafka.bootstrap, topic, range(total))
    return {"lines": total, "lost": total - back.distinct, "duplicates": back.duplicates,
            "timeline": timeline}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=LINES)
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--outage-lines", type=int, default=OUTAGE_LINES)
    parser.add_argument("--no-outage", action="store_true", help="skip the outage runs")
    parser.add_argument("--sides", default="turnout,rsyslog")
    parser.add_argument("--formats", default="json,raw")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="throughput rounds")
    args = parser.parse_args(argv)
    sides = args.sides.split(",")
    formats = args.formats.split(",")
    if (
        "rsyslog" in sides
        and shutil.which("rsyslogd") is None
        and not Path("/usr/sbin/rsyslogd").exists()
    ):
        sys.exit("rsyslogd is not installed: run scripts/system-deps.sh (rsyslog, rsyslog-kafka)")
    root = Path(tempfile.mkdtemp(prefix="bench-syslog-"))
    kafka = StandaloneKafka(root / "kafka")
    kafka.start()
    try:
        lines = make_lines(args.lines)
        runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for round_number in range(args.rounds):
            for fmt in formats:
                # Alternate who goes first, so drift in the machine's load hits both.
                for side in sides if round_number % 2 == 0 else sides[::-1]:
                    run = throughput(side, kafka, root, fmt, lines, args.connections)
                    progress(f"round {round_number + 1} {side} {fmt}: {run}")
                    runs.setdefault((side, fmt), []).append(run)
        outages = {}
        if not args.no_outage:
            for side in sides:
                outages[side] = outage(side, kafka, root, args.outage_lines, args.connections)
                progress(f"outage {side}: {outages[side]}")
    finally:
        kafka.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(report(args, runs, outages)))


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def report(
    args: argparse.Namespace, runs: dict[tuple[str, str], list[dict[str, Any]]],
    outages: dict[str, dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    """Medians over the rounds; each round's figures under ``runs``."""

    def rate(side: str, fmt: str) -> float | None:
        samples = [run["lines_per_s"] for run in runs.get((side, fmt), []) if run["lines_per_s"]]
        return round(statistics.median(samples)) if samples else None

    def ratio(fmt: str) -> float | None:
        ours, theirs = rate("turnout", fmt), rate("rsyslog", fmt)
        return round(ours / theirs, 3) if ours and theirs else None

    from turnout.syslog.settings import default_workers

    return {
        "benchmark": "syslog",
        "lines": args.lines,
        "connections": args.connections,
        "framing": "octet-counting",
        "cpu_count": os.cpu_count(),
        "turnout_workers": default_workers(),
        "turnout_lines_per_s": rate("turnout", "json"),
        "rsyslog_lines_per_s": rate("rsyslog", "json"),
        "ratio": ratio("json"),
        "turnout_raw_lines_per_s": rate("turnout", "raw"),
        "rsyslog_raw_lines_per_s": rate("rsyslog", "raw"),
        "ratio_raw": ratio("raw"),
        "rounds": args.rounds,
        "lost": {
            f"{side}_{fmt}": sum(run["lost"] for run in samples)
            for (side, fmt), samples in runs.items()
        },
        "runs": {f"{side}_{fmt}": samples for (side, fmt), samples in runs.items()},
        "outage": outages,
    }


if __name__ == "__main__":
    main()
