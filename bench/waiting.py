"""The benchmarks' one bounded wait."""

from __future__ import annotations

import time
from collections.abc import Callable

#: How often a wait looks again: fine enough for orchestration steps, which the
#: benchmarks do not time through it.
POLL_S = 0.05


def wait_for(
    predicate: Callable[[], bool], timeout_s: float, what: str, poll_s: float = POLL_S
) -> None:
    """Return once ``predicate()`` holds; raise ``RuntimeError`` naming ``what`` after
    ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(poll_s)
