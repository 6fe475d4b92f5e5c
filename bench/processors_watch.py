"""When a side's outputs became readable: a ``read_committed`` reader of the output topic
that counts records (without parsing them, so that it takes little of the CPU the side is
measured on) and stamps the first and the ``target``-th with ``CLOCK_MONOTONIC``, which
the sides' processes share."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from bench.processors_data import PARTITIONS

WATCH_BATCH = 10_000
#: The reader's wait for records: the resolution of the stamps when outputs trickle.
WATCH_POLL_S = 0.01


class OutputFollower(ABC):
    """Reads the committed records of ``topic`` from its beginning in a thread of its own
    and hands each batch read, with its reading time, to ``_read`` until that returns
    True (or ``stop``)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._stop = threading.Event()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "bench-processors-watch",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": 10,
            }
        )
        self._consumer.assign(
            [TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)]
        )
        self._thread = threading.Thread(target=self._follow, name="bench-follow", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._consumer.close()

    def _follow(self) -> None:
        while not self._stop.is_set():
            messages = self._consumer.consume(WATCH_BATCH, WATCH_POLL_S)
            if messages and self._read(
                [m for m in messages if m.error() is None], time.monotonic_ns()
            ):
                return

    @abstractmethod
    def _read(self, messages: list[Message], now_ns: int) -> bool:
        """Take a batch of outputs read at ``now_ns``; True when following may stop."""


class OutputWatcher(OutputFollower):
    """Counts the outputs (without parsing them) until ``target`` are readable."""

    def __init__(self, bootstrap: str, topic: str, target: int) -> None:
        super().__init__(bootstrap, topic)
        self.target = target
        self.seen = 0
        self.first_ns = 0
        self.last_ns = 0
        self.done = threading.Event()

    def _read(self, messages: list[Message], now_ns: int) -> bool:
        self.seen += len(messages)
        if self.seen and not self.first_ns:
            self.first_ns = now_ns
        if self.seen >= self.target:
            self.last_ns = now_ns
            self.done.set()
            return True
        return False


@dataclass(frozen=True)
class SideRun:
    """One side's run: its rates, the settings it ran with, its libraries' versions."""

    #: Records over the time from the side's start (after its imports) to the last
    #: output readable: start-up (joining, claiming, fencing) included.
    msgs_per_s: float
    #: Records over the time from the first output readable to the last.
    steady_msgs_per_s: float
    #: The side's process CPU time (every thread, user and system) from its start to
    #: its last output, per record: less moved by other work on the machine than rates.
    cpu_us_per_record: float
    settings: dict[str, Any]
    versions: dict[str, str]


def side_run(
    watcher: OutputWatcher,
    go_ns: int,
    cpu_s: float,
    settings: dict[str, Any],
    versions: dict[str, str],
) -> SideRun:
    """The rates of a run that started at ``go_ns`` and that ``watcher`` saw complete."""
    steady_s = (watcher.last_ns - watcher.first_ns) / 1e9
    return SideRun(
        msgs_per_s=watcher.target / ((watcher.last_ns - go_ns) / 1e9),
        steady_msgs_per_s=watcher.target / steady_s if steady_s > 0 else 0.0,
        cpu_us_per_record=cpu_s / watcher.target * 1e6,
        settings=settings,
        versions=versions,
    )
