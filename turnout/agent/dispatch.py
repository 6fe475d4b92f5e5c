"""The seam between the consume loop (ownership, fetching, commits) and the work it feeds.

The consume loop owns partitions, fetches records and commits; a ``Dispatcher`` runs the
user's handler on them and says, per partition, up to where everything is complete. The
agent's coordination core ships a strictly sequential dispatcher; the work manager
(ordering modes, retries, dead letters) is another implementation of the same protocol.

Contract:
- ``submit`` never blocks. Back-pressure is ``wants_more(tp) is False``: the loop pauses
  the Kafka partition and asks again later, so memory stays flat however slow the handler.
- ``commit_point`` is the highest offset below which every record is complete (Kafka's
  "next offset to consume"), plus completed offsets above it (past the first gap).
- ``close_partition`` is the release path: stop starting new records of the partition,
  wait at most ``timeout_s`` for those in flight, and return the final commit point.
  Records fetched but not started are dropped: the next owner fetches them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

#: (topic, partition): a plain tuple, because this is on the per-record hot path.
TP = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    timestamp_ms: int
    #: The directive epoch under which this instance owns the partition.
    epoch: int

    @property
    def tp(self) -> TP:
        return (self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class CommitPoint:
    #: Every offset below this is complete; the value committed to Kafka.
    next_offset: int
    #: Offsets >= next_offset already complete (past the first gap), ascending.
    done_beyond: tuple[int, ...] = ()


class Dispatcher(Protocol):
    def open_partition(self, tp: TP, next_offset: int, skip: frozenset[int]) -> None:
        """Start taking ``tp``'s records from ``next_offset``; offsets in ``skip`` were
        completed by a predecessor and complete without running the handler."""

    def submit(self, record: Record) -> None:
        """Accept a fetched record of an open partition. Never blocks."""

    def wants_more(self, tp: TP) -> bool:
        """False while ``tp`` (or the whole dispatcher) is at its in-flight bound."""

    def commit_point(self, tp: TP) -> CommitPoint | None:
        """Where ``tp`` may be committed now; None if nothing new is complete."""

    def close_partition(self, tp: TP, timeout_s: float) -> CommitPoint | None:
        """Stop ``tp``, wait at most ``timeout_s`` for in-flight work, return the final point."""

    def stop_reason(self) -> str | None:
        """Set when the work asked the agent to stop (e.g. a *_AND_STOP failure decision)."""

    def close(self, timeout_s: float) -> None:
        """Stop every worker; bounded by ``timeout_s``."""
