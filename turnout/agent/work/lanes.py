"""The manager's per-record data: partitions, ordering lanes, runs. Plain slotted classes.

A *lane* is the unit of ordering. ``partition`` mode has one exclusive lane per partition,
``key`` mode one exclusive lane per (partition, key), ``unordered`` mode one shared lane per
partition. An exclusive lane is worked by at most one worker at a time, in offset order;
while its head waits for a retry the whole lane waits (so order holds across retries), and
nothing else does. A shared lane is taken from by any number of workers at once; a record
of it that fails moves to a one-record exclusive lane of its own, blocking nothing.

Lane states (exclusive lanes), all changed under the manager's lock:

    idle --submit--> ready (in the ready queue) --worker takes a run--> running
    running --run finished, records left--> ready
    running --run finished, nothing left--> idle (a key lane is then forgotten)
    running --attempt failed, retries left--> waiting (retry set, in the retry heap)
    waiting --retry due--> ready
    running --attempts used up--> deciding (worker calls the failure callback) --> ready/idle

``scheduled`` is True in ready, running and deciding; submit enqueues only an idle lane.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from turnout.agent.records import Record
from turnout.agent.work.offsets import OffsetTracker
from turnout.protocol.partitions import PartitionId


@dataclass(slots=True, eq=False)
class Retry:
    records: Sequence[Record]
    #: Attempts already made.
    attempts: int
    due: float


@dataclass(slots=True, eq=False)
class Lane:
    part: Partition
    key: object
    exclusive: bool
    #: Queued records as segments (runs as the consume loop submitted them, or pieces of
    #: them), each non-empty, in offset order: taking a run of records costs per segment.
    records: deque[Sequence[Record]] = field(default_factory=deque)
    scheduled: bool = False
    retry: Retry | None = None


@dataclass(slots=True, eq=False)
class Partition:
    """One open partition. A re-opened partition is a new object: stale runs of the old one
    see ``closing`` and their results are discarded."""

    tp: PartitionId
    tracker: OffsetTracker
    skip: frozenset[int]
    #: key -> lane (``key`` mode only).
    lanes: dict[object, Lane] = field(default_factory=dict)
    #: The partition's lane in ``partition`` and ``unordered`` modes.
    main: Lane | None = None
    #: Accepted by submit (written only by the consume loop's thread)...
    accepted: int = 0
    #: ...and finished or dropped (under the manager's lock). The difference is in flight:
    #: in the inbox, queued, running, waiting to retry, being dead-lettered.
    released: int = 0
    #: Taken out of the inbox (under the lock); ``accepted - routed`` are still in it.
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
