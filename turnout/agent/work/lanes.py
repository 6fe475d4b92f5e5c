"""What the work manager keeps per open partition: its lanes, their queued records, the
retries they wait on, and the runs workers take from them. Plain slotted classes; the
scheduler (``scheduler.py``) says how they move.

A *lane* is the unit of ordering. ``partition`` mode has one exclusive lane per partition,
``key`` mode one exclusive lane per (partition, key), ``unordered`` mode one shared lane per
partition. An exclusive lane is worked by at most one worker at a time, in offset order;
a shared lane is taken from by any number of workers at once.

Every field is read and written under the manager's shared lock, except the counters the
consume loop writes alone (``accepted``) and the flags it reads without the lock
(``closing``, ``saturated``; see ``flow.py``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from turnout.agent.records import Record, RecordRun
from turnout.agent.work.completion import CompletionTracker
from turnout.protocol.partitions import PartitionId


@dataclass(slots=True, eq=False)
class Retry:
    """Records waiting until ``due``: a failed attempt's retry, or, with no records and no
    attempts, a lane waiting for the ownership gate to be asked again."""

    records: Sequence[Record]
    #: Attempts already made.
    attempts: int
    due: float


@dataclass(slots=True, eq=False)
class Lane:
    part: PartitionWork
    key: object
    exclusive: bool
    #: Queued records as segments (runs as the consume loop submitted them, or pieces of
    #: them), each non-empty, in offset order: taking a run of records costs per segment.
    records: deque[Sequence[Record]] = field(default_factory=deque)
    #: In the ready queue, taken by a worker, or waiting for its failure decision.
    scheduled: bool = False
    retry: Retry | None = None


@dataclass(slots=True, eq=False)
class PartitionWork:
    """The work of one open partition. A re-opened partition is a new object: stale runs of
    the old one see ``closed`` and their results are discarded."""

    tp: PartitionId
    tracker: CompletionTracker
    #: Offsets a predecessor completed: they complete without running the handler.
    skip: frozenset[int]
    #: key -> lane (``key`` mode only).
    lanes: dict[object, Lane] = field(default_factory=dict)
    #: The partition's lane in ``partition`` and ``unordered`` modes.
    main: Lane | None = None
    #: Accepted by submit (written only by the consume loop's thread)...
    accepted: int = 0
    #: ...and retired: finished or dropped, no longer in flight. The difference is in
    #: flight: in the inbox, queued, running, waiting to retry, being dead-lettered.
    retired: int = 0
    #: Taken out of the inbox; ``accepted - routed`` are still in it.
    routed: int = 0
    #: Started and not finished: in a worker's run or waiting for a dead-letter ack.
    running: int = 0
    processed: int = 0
    #: Hit an in-flight bound; refused until back under half of it.
    saturated: bool = False
    #: Draining (close_partition): nothing new starts; running records still count.
    closing: bool = False
    #: Gone: results that arrive now are discarded.
    closed: bool = False
    #: ``tracker.version`` when ``commit_point`` last returned a point.
    reported_version: int = 0
    high_watermark: int | None = None
    lag: int | None = None


@dataclass(slots=True, eq=False)
class Run:
    """Records a worker took from a lane: consecutive ones, or one retry batch."""

    lane: Lane
    records: Sequence[Record]
    #: Attempts already made on ``records[0]`` (per-message) or the batch (per-batch).
    attempts: int
    #: Leading records already completed and accounted (by the supervisor, while the
    #: worker was still inside the run).
    reported: int = 0


def _epoch_of(segment: Sequence[Record]) -> int:
    """The directive epoch a segment was fetched under (one per segment: a fetch's run)."""
    return segment.epoch if type(segment) is RecordRun else segment[0].epoch


def take_records(segments: deque[Sequence[Record]], size: int) -> Sequence[Record]:
    """Take up to ``size`` records off the front of a lane's (non-empty) ``segments``:
    a piece of the first segment, or it joined to the next ones fetched under the same
    directive epoch (a run never spans two: the partition's owner node was re-stamped in
    between, and a run is handled under one). Costs per segment, not per record, and
    builds no record of a ``RecordRun``."""
    first = segments.popleft()
    if len(first) >= size:
        if len(first) > size:
            segments.appendleft(first[size:])
            return first[:size]
        return first
    pieces = [first]
    room = size - len(first)
    epoch = _epoch_of(first)
    while segments and room and _epoch_of(segments[0]) == epoch:
        segment = segments.popleft()
        if len(segment) > room:
            segments.appendleft(segment[room:])
            segment = segment[:room]
        pieces.append(segment)
        room -= len(segment)
    if len(pieces) == 1:
        return first
    if all(type(piece) is RecordRun for piece in pieces):
        return RecordRun.join(cast(list[RecordRun], pieces))
    return [record for piece in pieces for record in piece]
