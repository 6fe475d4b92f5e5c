"""A rate over a sliding window, from samples of a count that grows: records processed
per second over the last ``window_s`` seconds.

Each ``sample(now, count)`` adds a sample and answers the rate over ``[now - window_s,
now]``: the count's growth across the window divided by its length. The count at the
window's start is interpolated between the two samples around it (the count is taken to
grow evenly between samples), so the answer does not depend on how often it is sampled,
and an instance whose count stopped growing reads exactly 0 once the window has moved
past the last sample taken before the stop. While fewer than ``window_s`` seconds of
samples exist, the rate is over the time the samples cover. A count that went down (a
dispatcher's counts of closed partitions leaving it) is no progress: it reads 0, never
a negative rate.

Not thread-safe: one caller samples (the status publisher, under ``AgentMetrics``'s lock).
"""

from __future__ import annotations

import collections


class RateWindow:
    def __init__(self, window_s: float) -> None:
        if window_s <= 0:
            raise ValueError("the window must be positive")
        self.window_s = window_s
        self._samples: collections.deque[tuple[float, float]] = collections.deque()

    def sample(self, now: float, count: float) -> float:
        """Add ``count`` at time ``now`` (seconds, not decreasing); the rate per second over
        the window that ends at ``now``."""
        samples = self._samples
        samples.append((now, count))
        start = now - self.window_s
        # Keep one sample at or before the window's start: the interpolation needs it.
        while len(samples) >= 2 and samples[1][0] <= start:
            samples.popleft()
        first_at, first = samples[0]
        if first_at < start:
            next_at, following = samples[1]
            first += (following - first) * (start - first_at) / (next_at - first_at)
            first_at = start
        elapsed = now - first_at
        if elapsed <= 0:
            return 0.0
        return max(0.0, count - first) / elapsed
