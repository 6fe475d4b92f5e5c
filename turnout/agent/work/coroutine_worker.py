"""Coroutine workers: for a handler that is a coroutine function, ``workers`` tasks on one
event loop in a thread of the manager's own, each looping: take a run from the scheduler,
await the handler on its records (or on the whole batch) one by one, settle the run
(``worker_contract.py``).

A task's states:

    idle (its future in the scheduler's ``idle_tasks``) --woken--> looking
    looking --the scheduler hands it a run--> running --run ends--> looking (after
        settling it)
    looking --nothing ready--> idle
    any --the manager closed--> done (the loop stops and cancels the rest)

Each attempt is bounded by ``task_timeout``: ``asyncio.wait_for`` cancels a coroutine
past it, and the attempt fails with ``AttemptTimedOut`` (retried like any failure). Unlike
a thread, a task is never left behind, so there is no watchdog here. Before every record
the task reads the partition's ``closing`` and the manager's ``halted`` and asks the
ownership gate.

The loop's thread is never blocked by the manager: the lock is held only for the
scheduler's bookkeeping, never around an await. A coroutine manager does not fetch for
the agent (a poll would block its loop).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import Any, cast

from turnout.agent.work.metrics import LatencyBuckets
from turnout.agent.work.outcomes import AttemptTimedOut
from turnout.agent.work.worker_contract import Ending, RunOutcome, WorkerContext


class CoroutineWorkers:
    def __init__(self, count: int, context: WorkerContext, *, timeout_s: float) -> None:
        self._context = context
        self._timeout = timeout_s
        self.loop = asyncio.new_event_loop()
        #: One per task, written by it alone.
        self.latency = [LatencyBuckets() for _ in range(count)]
        #: Set once the tasks exist (``main`` runs on the loop's thread).
        self.started = threading.Event()

    def main(self) -> None:
        """The loop thread's target: runs the tasks until ``stop``."""
        loop = self.loop
        asyncio.set_event_loop(loop)
        tasks = [loop.create_task(self._work(latency)) for latency in self.latency]
        loop.call_soon(self.started.set)
        try:
            loop.run_forever()
        finally:
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

    def stop(self) -> None:
        loop = self.loop
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)

    async def _work(self, latency: LatencyBuckets) -> None:
        loop = asyncio.get_running_loop()
        context = self._context
        lock = context.lock
        scheduler = context.scheduler
        settle = context.settle
        lifecycle = context.lifecycle
        handler = context.handler
        gate = context.gate
        clock = context.clock
        per_batch = context.per_batch
        timeout = self._timeout
        while True:
            with lock:
                if lifecycle.closed:
                    return
                run = scheduler.take()
                waiter = scheduler.wait_as_task(loop) if run is None else None
            if run is None:
                if waiter is not None:
                    await waiter
                continue
            error: BaseException | None = None
            ok = 0
            units: list[Any] = [run.records] if per_batch else list(run.records)
            part = run.lane.part
            ending = Ending.COMPLETED
            for unit in units:
                if part.closing or lifecycle.halted:
                    ending = Ending.STOPPED
                    break
                if gate is not None and not gate(part.tp):
                    ending = Ending.DEFERRED
                    break
                started = clock()
                try:
                    await asyncio.wait_for(cast(Awaitable[object], handler(unit)), timeout)
                except TimeoutError:
                    error = AttemptTimedOut(f"no result within {timeout} s")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    error = exc
                latency.observe(clock() - started)
                if error is not None:
                    ending = Ending.FAILED
                    break
                ok += len(run.records) if per_batch else 1
            settle(run, RunOutcome(ending, ok, error))
