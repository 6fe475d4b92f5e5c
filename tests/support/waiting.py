"""Bounded waiting for tests: ``wait_until`` is the one way a test polls for a condition.

A test that waits for something another thread or process does polls a predicate with a
deadline, and on timeout fails with a message saying what it waited for (read at that
moment, so it can show the state it found instead).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

#: Between two polls: short against every wait in the suite (tens of milliseconds and
#: up), long enough not to compete with the threads the test is waiting for.
POLL_S = 0.02


def wait_until(
    predicate: Callable[[], bool],
    timeout_s: float,
    what: str | Callable[[], str],
    *,
    poll_s: float = POLL_S,
) -> float:
    """Poll until ``predicate()``; the seconds it took. Fails the test with ``what`` (or
    what it returns then, to show the state that was waited on)."""
    started = time.monotonic()
    deadline = started + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic() - started
        time.sleep(poll_s)
    if predicate():
        return time.monotonic() - started
    message = what() if callable(what) else what
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for: {message}")


#: How long a SIGSTOPped process may take until every thread of it has stopped.
FROZEN_WITHIN_S = 5.0


def wait_until_frozen(pid: int, timeout_s: float = FROZEN_WITHIN_S) -> None:
    """Block until every thread of ``pid`` is stopped (state ``T`` in /proc). ``kill``
    returns before a busy multi-threaded process has stopped: a JVM thread on a CPU can
    still answer a request that arrives in that moment."""

    def every_thread_stopped() -> bool:
        states = []
        for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
            try:
                states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
            except (OSError, IndexError):
                continue
        return bool(states) and all(state in ("T", "t") for state in states)

    wait_until(every_thread_stopped, timeout_s, f"every thread of process {pid} to stop")
