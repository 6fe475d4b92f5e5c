"""When a mirror's copies became readable on the target: a thread stamping the first copy
and the ``target``-th with ``CLOCK_MONOTONIC``.

- ``WatermarkWatcher`` (a mirror at least once) sums the target topic's high watermarks
  (what a reader can read) every ``WATCH_INTERVAL_S``. It reads no record, so it takes
  next to nothing of the CPU the mirrors are measured on.
- ``CommittedWatcher`` (a mirror exactly once) counts the records a ``read_committed``
  reader reads: a transactional mirror's high watermarks count its transactions' markers
  too, and its copies are readable only once committed. It reads every copy (counting,
  never parsing them), a cost both exactly-once sides pay alike.

``run_mirror`` drives one side: start its processes, watch, stop them, and time it::

    launched --first copy readable--> copying --target copies readable--> done
    launched/copying --a process exited, no copy within FIRST_COPY_TIMEOUT_S, or
        RUN_LIMIT_S passed--> failed (RuntimeError naming the side and what it did)
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from confluent_kafka import Consumer, KafkaException, TopicPartition

from bench.mirror_data import WATERMARK_TIMEOUT_S
from bench.processors_data import PARTITIONS

#: The resolution of the stamps: a round of watermark queries to a local broker takes
#: about a millisecond per partition.
WATCH_INTERVAL_S = 0.02
#: A side's start-up (a JVM and its connector, or Python agents claiming partitions)
#: takes seconds; with no copy after this long it has failed.
FIRST_COPY_TIMEOUT_S = 180.0
#: A million records are copied in well under this; past it the run has failed.
RUN_LIMIT_S = 900.0
#: How often the side's processes are checked while the copies are awaited.
CHECK_S = 0.5
#: Both sides stop gracefully on SIGTERM; this long after it, they are killed.
STOP_TIMEOUT_S = 60.0


#: How many records the committed watcher takes per poll, and how long a poll waits when
#: nothing is there: the stamp's resolution, as ``WATCH_INTERVAL_S`` is the watermarks'.
COMMITTED_BATCH = 10_000


class Watcher(ABC):
    """A thread stamping when ``target`` copies of ``topic`` are readable; the kinds
    differ in how they count (``_watch``, which calls ``_count``)."""

    #: The consumer's own settings and the thread's name, per kind.
    consumer_settings: ClassVar[dict[str, str | bool]] = {}
    thread_name = "bench-watch"

    def __init__(self, bootstrap: str, topic: str, target: int) -> None:
        self.target = target
        self.seen = 0
        self.first_ns = 0
        self.last_ns = 0
        self.done = threading.Event()
        self._topic = topic
        self._stop = threading.Event()
        self._consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": "bench-watch", **self.consumer_settings}
        )
        self._thread = threading.Thread(target=self._watch, name=self.thread_name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._consumer.close()

    @abstractmethod
    def _watch(self) -> None:
        """Follow the target topic until ``_count`` says every copy is there."""

    def _count(self, seen: int) -> bool:
        """Note ``seen`` copies readable now; whether that is all of them."""
        now = time.monotonic_ns()
        self.seen = seen
        if seen and not self.first_ns:
            self.first_ns = now
        if seen >= self.target:
            self.last_ns = now
            self.done.set()
            return True
        return False


class WatermarkWatcher(Watcher):
    """Sums ``topic``'s high watermarks until they reach ``target`` (see the module doc)."""

    thread_name = "bench-watermarks"

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_INTERVAL_S):
            try:
                total = sum(
                    self._consumer.get_watermark_offsets(
                        TopicPartition(self._topic, p), WATERMARK_TIMEOUT_S, cached=False
                    )[1]
                    for p in range(PARTITIONS)
                )
            except KafkaException:
                continue  # a target topic not created yet, or a leader moving
            if self._count(total):
                return


class CommittedWatcher(Watcher):
    """Counts ``topic``'s records as a ``read_committed`` reader reads them until there
    are ``target`` (see the module doc)."""

    consumer_settings: ClassVar[dict[str, str | bool]] = {
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    }
    thread_name = "bench-committed"

    def _watch(self) -> None:
        self._consumer.assign([TopicPartition(self._topic, p, 0) for p in range(PARTITIONS)])
        while not self._stop.is_set():
            messages = self._consumer.consume(COMMITTED_BATCH, WATCH_INTERVAL_S)
            read = sum(1 for m in messages if m.error() is None)
            if read and self._count(self.seen + read):
                return


def watcher_for(bootstrap: str, topic: str, records: int, exactly_once: bool) -> Watcher:
    """The watcher of a mirror writing ``topic``: transactions need the committed one."""
    if exactly_once:
        return CommittedWatcher(bootstrap, topic, records)
    return WatermarkWatcher(bootstrap, topic, records)


@dataclass(frozen=True)
class MirrorRun:
    """A side's run, timed from its processes' launch."""

    records: int
    launch_ns: int
    first_ns: int
    last_ns: int

    @property
    def startup_s(self) -> float:
        """From the launch until the first copy was readable: process (JVM or Python)
        start, joining or claiming, the first fetch and write."""
        return (self.first_ns - self.launch_ns) / 1e9

    @property
    def msgs_per_s(self) -> float:
        """Records over the time from the first copy readable to the last: start-up
        excluded."""
        return self.records / ((self.last_ns - self.first_ns) / 1e9)

    @property
    def total_msgs_per_s(self) -> float:
        """Records over the time from the launch to the last copy readable."""
        return self.records / ((self.last_ns - self.launch_ns) / 1e9)

    def as_json(self, side: str) -> dict[str, float]:
        return {
            f"{side}_msgs_per_s": round(self.msgs_per_s),
            f"{side}_total_msgs_per_s": round(self.total_msgs_per_s),
            f"{side}_startup_s": round(self.startup_s, 2),
        }


def _await(name: str, processes: Sequence[subprocess.Popen[bytes]], watcher: Watcher) -> None:
    started = time.monotonic()
    while not watcher.done.wait(CHECK_S):
        waited = time.monotonic() - started
        exited = [p.returncode for p in processes if p.poll() is not None]
        if exited:
            problem = f"exited {exited}"
        elif not watcher.seen and waited > FIRST_COPY_TIMEOUT_S:
            problem = f"copied nothing within {FIRST_COPY_TIMEOUT_S:.0f} s"
        elif waited > RUN_LIMIT_S:
            problem = f"did not finish within {RUN_LIMIT_S:.0f} s"
        else:
            continue
        raise RuntimeError(f"{name} {problem} ({watcher.seen} of {watcher.target} copies)")


def run_mirror(
    name: str,
    launch: Callable[[], list[subprocess.Popen[bytes]]],
    watcher: Watcher,
) -> MirrorRun:
    """Launch a side's processes, wait until ``watcher`` saw every copy, stop them
    (SIGTERM, then kill); ``name`` says which side in errors."""
    watcher.start()
    launch_ns = time.monotonic_ns()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes = launch()
        _await(name, processes, watcher)
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(STOP_TIMEOUT_S)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        watcher.stop()
    return MirrorRun(watcher.target, launch_ns, watcher.first_ns, watcher.last_ns)
