"""Writing and reading verification logs: JSON lines, one file per process.

Writers append one whole line per ``os.write`` on an ``O_APPEND`` descriptor, under a lock,
so lines from several threads never interleave and a line is on its way to the kernel
before the call returns (no user-space buffer for a SIGKILL to lose). A process killed in
the middle of a write can leave one torn last line; readers skip exactly that (a final
line without its newline) and log a warning, and refuse any other malformed line.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from confluent_kafka import KafkaError, Message

from turnout.agent.records import Record
from turnout.verify.events import (
    Claimed,
    Committed,
    Event,
    Fenced,
    Processed,
    Produced,
    Released,
    decode,
    decode_text,
    encode,
)

log = logging.getLogger(__name__)

#: Suffix of log files; ``read_*`` given a directory reads every such file in it.
LOG_SUFFIX = ".jsonl"


class JsonLinesWriter:
    """An append-only, thread-safe JSON-lines file; one ``os.write`` per line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self._lock = threading.Lock()
        self._closed = False

    def write_line(self, line: str) -> None:
        """Append ``line`` (which ends with a newline). Raises after ``close``."""
        data = memoryview(line.encode())
        with self._lock:
            if self._closed:
                raise ValueError(f"event log {self.path} is closed")
            while data:
                written = os.write(self._fd, data)
                data = data[written:]

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                os.close(self._fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def process_log_path(directory: Path, prefix: str) -> Path:
    """``<directory>/<prefix>-<pid>.jsonl``: one file per process, so writers never share."""
    return directory / f"{prefix}-{os.getpid()}{LOG_SUFFIX}"


class EventLog(JsonLinesWriter):
    """The agent-side event log of one process (any number of instances may share it)."""

    @classmethod
    def in_directory(cls, directory: Path, prefix: str = "events") -> EventLog:
        return cls(process_log_path(directory, prefix))

    def bind(self, instance: str, colour: str) -> InstanceEventLog:
        """A view that stamps every event with ``instance`` and ``colour``."""
        return InstanceEventLog(self, instance, colour)

    def write_event(self, kind: str, instance: str, colour: str, fields: dict[str, Any]) -> None:
        """Append an event of ``kind``, stamped with identity, pid, wall and monotonic time."""
        header = {
            "instance": instance,
            "colour": colour,
            "pid": os.getpid(),
            "ts": time.time(),
            "mono_ns": time.monotonic_ns(),
        }
        self.write_line(encode(kind, {**header, **fields}))


class InstanceEventLog:
    """The events one instance writes; every method appends one line and returns."""

    def __init__(self, log: EventLog, instance: str, colour: str) -> None:
        self.log = log
        self.instance = instance
        self.colour = colour

    def _write(self, kind: str, fields: dict[str, Any]) -> None:
        self.log.write_event(kind, self.instance, self.colour, fields)

    def processed(self, record: Record, start_ns: int, end_ns: int) -> None:
        """The handler ran on ``record`` from ``start_ns`` to ``end_ns`` (``monotonic_ns``)."""
        self._write(
            Processed.KIND,
            {
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "key": decode_text(record.key),
                "value": decode_text(record.value) or "",
                "epoch": record.epoch,
                "start_ns": start_ns,
                "end_ns": end_ns,
            },
        )

    def claimed(
        self, group: str, topic: str, partition: int, epoch: int, start_offset: int
    ) -> None:
        """Call after the owner node is created, before the first record is fetched."""
        self._write(
            Claimed.KIND,
            {
                "group": group,
                "topic": topic,
                "partition": partition,
                "epoch": epoch,
                "start_offset": start_offset,
            },
        )

    def released(
        self, group: str, topic: str, partition: int, epoch: int, committed_offset: int | None
    ) -> None:
        """Call after the final commit and before the owner node is deleted."""
        self._write(
            Released.KIND,
            {
                "group": group,
                "topic": topic,
                "partition": partition,
                "epoch": epoch,
                "committed_offset": committed_offset,
            },
        )

    def committed(self, group: str, topic: str, partition: int, offset: int, epoch: int) -> None:
        """Call after a commit succeeded; ``offset`` is the next offset to consume."""
        self._write(
            Committed.KIND,
            {
                "group": group,
                "topic": topic,
                "partition": partition,
                "offset": offset,
                "epoch": epoch,
            },
        )

    def fenced(self, reason: str) -> None:
        """Call when the instance stops processing and committing everything."""
        self._write(Fenced.KIND, {"reason": reason})


class ProducedLog(JsonLinesWriter):
    """A test producer's log of acknowledged records.

    Pass ``on_delivery`` as the producer's delivery callback: it logs a record only when the
    broker acknowledged it, and counts the failures in ``failed`` (never logged: an
    unacknowledged record may or may not exist, so nobody may be blamed for not seeing it).
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.acked_count = 0
        self.failed = 0

    @classmethod
    def in_directory(cls, directory: Path, prefix: str = "produced") -> ProducedLog:
        return cls(process_log_path(directory, prefix))

    def acked(self, topic: str, partition: int, offset: int, key: str | None, value: str) -> None:
        self.write_line(
            encode(
                Produced.KIND,
                {
                    "topic": topic,
                    "partition": partition,
                    "offset": offset,
                    "key": key,
                    "value": value,
                },
            )
        )
        self.acked_count += 1

    def on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.failed += 1
            return
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        if topic is None or partition is None or offset is None or offset < 0:
            raise ValueError(
                f"acknowledged message without a position: {topic}/{partition}@{offset}"
            )
        value = decode_text(msg.value())
        self.acked(topic, partition, offset, decode_text(msg.key()), value or "")


def _log_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob(f"*{LOG_SUFFIX}")))
        else:
            files.append(path)
    return files


def _read_lines(files: Iterable[Path]) -> list[Event | Produced]:
    lines: list[Event | Produced] = []
    for path in files:
        with path.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if not text.endswith("\n"):
                    log.warning("skipping torn last line %d of %s: %r", number, path, text[:200])
                    break
                try:
                    lines.append(decode(text))
                except ValueError as exc:
                    raise ValueError(f"{path}:{number}: {exc}") from exc
    return lines


@dataclass(frozen=True)
class History:
    """Everything read from a set of logs: acknowledged records and agent events."""

    produced: list[Produced]
    #: Ordered by ``mono_ns`` (stable: equal times keep file order).
    events: list[Event]


def read_history(*paths: Path) -> History:
    """Read log files, or every ``*.jsonl`` in given directories, producer and agent logs alike.

    Raises ``ValueError`` naming the file and line of a malformed line (a torn last line is
    skipped with a warning, see the module docstring).
    """
    produced: list[Produced] = []
    events: list[Event] = []
    for item in _read_lines(_log_files(paths)):
        if isinstance(item, Produced):
            produced.append(item)
        else:
            events.append(item)
    events.sort(key=lambda event: event.mono_ns)
    return History(produced=produced, events=events)


def read_events(*paths: Path) -> list[Event]:
    """The agent events of ``read_history``, ordered by ``mono_ns``."""
    return read_history(*paths).events


def read_produced(*paths: Path) -> list[Produced]:
    """The acknowledged records of ``read_history``."""
    return read_history(*paths).produced
