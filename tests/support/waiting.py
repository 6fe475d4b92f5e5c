"""Bounded waiting for tests: ``wait_until`` is the one way a test polls for a condition.

A test that waits for something another thread or process does polls a predicate with a
deadline, and on timeout fails with a message saying what it waited for (read at that
moment, so it can show the state it found instead).
"""

from __future__ import annotations

import time
from collections.abc import Callable

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
