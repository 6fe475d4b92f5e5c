"""Coroutine workers: handlers that are coroutine functions, on the manager's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tests.unit.agent.work.support import (
    FAST,
    TP0,
    build,
    record,
    settle,
)
from turnout.agent.records import Record
from turnout.agent.work import (
    Ordering,
    WorkConfig,
    WorkManager,
)


def test_coroutine_handlers_run_concurrently_on_the_managers_loop(
    managers: list[WorkManager],
) -> None:
    active = 0
    peak = 0

    async def handler(rec: Record) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.02)
        active -= 1

    manager = build(managers, handler, ordering=Ordering.KEY, workers=16)
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(64):
        manager.submit(record(offset, key=b"k%d" % offset))
    settle(manager, TP0, 64)
    assert peak >= 8


def test_coroutine_attempts_are_cancelled_at_the_timeout_and_retried(
    managers: list[WorkManager],
) -> None:
    attempts: list[int] = []
    cancelled: list[int] = []

    async def handler(rec: Record) -> None:
        attempts.append(rec.offset)
        if len(attempts) == 1:
            try:
                await asyncio.sleep(5.0)
            except asyncio.CancelledError:
                cancelled.append(rec.offset)
                raise

    manager = build(managers, handler, task_timeout=0.05)
    manager.open_partition(TP0, 0, frozenset())
    manager.submit(record(0))
    settle(manager, TP0, 1)
    assert attempts == [0, 0] and cancelled == [0]


def test_async_batch_handler(managers: list[WorkManager]) -> None:
    seen: list[int] = []

    async def batch_handler(records: Sequence[Record]) -> None:
        await asyncio.sleep(0)
        seen.extend(r.offset for r in records)

    manager = WorkManager(WorkConfig(**FAST, batch_size=3), batch_handler=batch_handler)
    managers.append(manager)
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(10):
        manager.submit(record(offset))
    settle(manager, TP0, 10)
    assert seen == list(range(10))


def test_a_coroutine_manager_leaves_the_fetching_to_the_agent(
    managers: list[WorkManager],
) -> None:
    async def handler(rec: Record) -> None:
        return None

    manager = build(managers, handler)
    assert not manager.take_over_fetching(lambda: False)
