"""When a benchmark's consumer handled its first and last record, seen from outside it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: How often the completed count is read near the start and the end of a run (the
#: figures' resolution), and in between (see ``Completion``).
COMPLETION_POLL_S = 0.0005
COMPLETION_POLL_COARSE_S = 0.02
#: From this share of the target on, the count is read finely again: at the agent's speed
#: the last 2% take tens of milliseconds, longer than a coarse poll.
NEAR_END = 0.98


class Completion:
    """When the first and the last of ``target`` records were handled, seen by polling
    ``count`` so that the handler itself stays a no-op, the same function as the raw
    loop's. The polls are fine (``COMPLETION_POLL_S``) only where an end may be near:
    until the first record is seen and from ``NEAR_END`` of the target on. In between they
    are ``COMPLETION_POLL_COARSE_S`` apart, so that the watcher (a thread that needs the
    GIL) does not interrupt the agent's threads a thousand times a second, which the raw
    loop, counting inline, is spared."""

    def __init__(
        self,
        target: int,
        count: Callable[[], int],
        fine_s: float = COMPLETION_POLL_S,
        coarse_s: float = COMPLETION_POLL_COARSE_S,
    ) -> None:
        self.target = target
        self._count = count
        self._fine_s = fine_s
        self._coarse_s = coarse_s
        self.first = 0.0
        self.last = 0.0
        self.seen = 0
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="bench-completion", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        near_end = self.target * NEAR_END
        while not self._stop.is_set():
            seen = self._count()
            now = time.perf_counter()
            if seen and not self.first:
                self.first = now
            self.seen = seen
            if seen >= self.target:
                self.last = now
                self.done.set()
                return
            fine = not seen or seen >= near_end
            time.sleep(self._fine_s if fine else self._coarse_s)

    def rate(self) -> float:
        return self.target / (self.last - self.first)
