"""Failed-authentication rate limiting per source address (a moving window, in memory).

Each failed authentication from an address is one hit; once an address has
``limit`` hits inside the last ``window_s`` seconds, every request from it is refused
(429, Retry-After) until its oldest hit leaves the window. Valid tokens from a throttled
address are refused too: otherwise the limit would tell a guesser which guess was right.

The counts live in this process (the ``limits`` library's memory storage): each replica of
the control plane counts on its own, and a restart forgets them.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class FailedAuthThrottle:
    def __init__(self, *, limit: int, window_s: int) -> None:
        self._item = RateLimitItemPerSecond(limit, window_s)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after_s(self, source: str) -> int | None:
        """Whole seconds until ``source`` may try again; None while it is not throttled."""
        if self._limiter.test(self._item, source):
            return None
        reset_at, _ = self._limiter.get_window_stats(self._item, source)
        return max(1, math.ceil(reset_at - time.time()))

    def record_failure(self, source: str) -> None:
        self._limiter.hit(self._item, source)
