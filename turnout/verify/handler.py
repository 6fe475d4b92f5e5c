"""A ready-made handler for tests and benchmarks: it logs every record it processes."""

from __future__ import annotations

import time
from collections.abc import Callable

from turnout.agent.records import Record
from turnout.verify.log import EventLog


def make_verifying_handler(
    log: EventLog, instance: str, colour: str, *, work_s: float = 0.0
) -> Callable[[Record], None]:
    """A handler that sleeps ``work_s`` seconds (simulated work, 0 for none) and logs a
    ``processed`` event with the monotonic start and end of the call.

    The event is written before the handler returns, so by the time the agent counts the
    record complete (and may commit past it) the log already holds it: a committed offset
    is never ahead of the processed history, whatever kills the process afterwards.
    """
    if work_s < 0:
        raise ValueError(f"work_s must not be negative, got {work_s}")
    events = log.bind(instance, colour)

    def handle(record: Record) -> None:
        start_ns = time.monotonic_ns()
        if work_s:
            time.sleep(work_s)
        events.processed(record, start_ns, time.monotonic_ns())

    return handle
