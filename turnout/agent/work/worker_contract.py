"""The one contract between the workers and the manager: what a worker is given
(``WorkerContext``) and how it reports a run (``RunOutcome``).

A worker (a thread, ``thread_worker.py``, or a coroutine task, ``coroutine_worker.py``)
takes a run of records from a lane, calls the handler on them in order, and reports
exactly once how the run ended, as a ``RunOutcome``, to ``Settlement.settle``. The
watchdog (``supervisor.py``) reports instead of a thread stuck in a handler past
``task_timeout``, through the same contract; the worker then discards its own result.

``ok`` leading records of the run succeeded, whatever the ending. Then:

    COMPLETED  every record of the run succeeded (``ok == len(records)``)
    STOPPED    the partition is closing or the manager halted: the rest is dropped (the
               next owner fetches it again)
    FAILED     the attempt at ``records[ok]`` (per-message) or the whole run (per-batch)
               raised ``error``: the failure policy retries it or decides its fate; the
               records after it go back to their lane
    DEFERRED   the ownership gate refused the next record: the rest waits on its lane
               and the gate is asked again after ``GATE_RECHECK_S``
    YIELDED    the run used up its time slice: the rest goes back to its lane, so that
               other lanes get a turn

A DEFERRED or YIELDED run of a partition that is closing, or of a halted manager, is
settled as STOPPED: nothing new starts then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from turnout.agent.work.lanes import Run
from turnout.agent.work.lifecycle import Lifecycle
from turnout.agent.work.scheduler import Scheduler
from turnout.protocol.partitions import PartitionId


class Ending(Enum):
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    DEFERRED = "deferred"
    YIELDED = "yielded"


@dataclass(frozen=True, slots=True)
class RunOutcome:
    ending: Ending
    #: Leading records of the run that succeeded (all of a batch, or none).
    ok: int
    #: What the failed attempt raised (FAILED only).
    error: BaseException | None = None


@dataclass(frozen=True)
class WorkerContext:
    """What every kind of worker works with."""

    #: The user's handler: one record per call, or a batch (``per_batch``).
    handler: Callable[[Any], object]
    per_batch: bool
    #: The manager's shared lock, held only around the scheduler's bookkeeping.
    lock: threading.Lock
    #: Where runs come from.
    scheduler: Scheduler
    #: Where they go: ``Settlement.settle``, called once per run.
    settle: Callable[[Run, RunOutcome], None]
    lifecycle: Lifecycle
    #: The agent's ownership gate, if any: False while the partition may not start records.
    gate: Callable[[PartitionId], bool] | None
    clock: Callable[[], float]
