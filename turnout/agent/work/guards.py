"""Sliding-window counters that decide when failures escalate. Pure: time is passed in.

Both are fed under the work manager's lock, a few times per handler run (never per record
on the success path: successes arrive as counts).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from tenacity import RetryCallState, Retrying, wait_exponential_jitter

#: Successes are counted in buckets this wide, so the ratio window costs O(window/bucket)
#: memory however many records pass through.
RATIO_BUCKET_S = 1.0


class FailureWindow:
    """Exhausted failures within the last ``window_s`` (go_kafka_client's ``FailureCounter``,
    without its latch: the count falls again once failures age out)."""

    __slots__ = ("_threshold", "_times", "_window")

    def __init__(self, threshold: int, window_s: float) -> None:
        self._threshold = threshold
        self._window = window_s
        self._times: deque[float] = deque()

    def record(self, now: float) -> int | None:
        """Count a failure; the count in the window if it reached the threshold, else None."""
        times = self._times
        times.append(now)
        while times and times[0] <= now - self._window:
            times.popleft()
        if len(times) >= self._threshold:
            count = len(times)
            # Start counting afresh so one burst escalates once, not once per failure.
            times.clear()
            return count
        return None


@dataclass(frozen=True, slots=True)
class GuardTrip:
    reason: str


class DeadLetterGuard:
    """Trips when dead letters are too many: by share over a window, or in a row."""

    __slots__ = ("_buckets", "_consecutive", "_max_consecutive", "_max_ratio", "_min", "_window")

    def __init__(
        self, max_ratio: float, window_s: float, min_samples: int, max_consecutive: int
    ) -> None:
        self._max_ratio = max_ratio
        self._window = window_s
        self._min = min_samples
        self._max_consecutive = max_consecutive
        self._consecutive = 0
        #: [bucket start, finished, dead-lettered], oldest first.
        self._buckets: deque[list[float]] = deque()

    def successes(self, count: int, now: float) -> None:
        if count:
            self._consecutive = 0
            self._bucket(now)[1] += count

    def dead_letter(self, now: float) -> GuardTrip | None:
        """Count one more dead letter; a trip if it is one too many (then it is not counted:
        the caller holds the record instead of dead-lettering it)."""
        bucket = self._bucket(now)
        if self._consecutive + 1 > self._max_consecutive:
            return GuardTrip(
                f"dead-letter rate guard: more than {self._max_consecutive} dead letters in a row"
            )
        finished = sum(b[1] for b in self._buckets) + 1
        dead = sum(b[2] for b in self._buckets) + 1
        if finished >= self._min and dead / finished > self._max_ratio:
            return GuardTrip(
                f"dead-letter rate guard: {int(dead)} of the last {int(finished)} records "
                f"would be dead letters, over the limit of {self._max_ratio:.0%}"
            )
        self._consecutive += 1
        bucket[1] += 1
        bucket[2] += 1
        return None

    def _bucket(self, now: float) -> list[float]:
        buckets = self._buckets
        while buckets and buckets[0][0] <= now - self._window:
            buckets.popleft()
        if buckets and now - buckets[-1][0] < RATIO_BUCKET_S:
            return buckets[-1]
        bucket = [now, 0.0, 0.0]
        buckets.append(bucket)
        return bucket


class Backoff:
    """Exponential backoff with jitter, from tenacity's ``wait_exponential_jitter``:
    ``min(initial * multiplier ** (retry - 1) + uniform(0, jitter), maximum)``."""

    __slots__ = ("_state", "_wait")

    def __init__(self, initial: float, multiplier: float, maximum: float, jitter: float) -> None:
        self._wait = wait_exponential_jitter(
            multiplier=initial, max=maximum, exp_base=multiplier, jitter=jitter
        )
        # tenacity's wait strategies read only ``attempt_number`` from the call state.
        self._state = RetryCallState(retry_object=Retrying(), fn=None, args=(), kwargs={})

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        self._state.attempt_number = retry
        return float(self._wait(self._state))
