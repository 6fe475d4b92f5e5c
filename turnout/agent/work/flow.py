"""Flow control: how many records are in flight, and whether the consume loop may bring more.

A record is *in flight* from ``submit`` until it is *retired*: finished (succeeded,
committed or held by a failure decision, dead-lettered) or dropped (its partition
closed). The consume loop's thread counts what it accepts (``accepted``, written only by
it, without the lock); whoever retires records counts them under the shared lock
(``retire``). In flight is the difference, per partition and in all.

Two answers for the consume loop, both lock-free reads of those counts (a stale answer
moves a pause or a poll by one poll at most; the loop asks again before the next):

- ``has_room()``: the memory bounds (``max_in_flight`` records, ``max_in_flight_bytes``)
  and the lookahead (``max_ahead``).
  False makes the loop stop polling; nothing is dropped, so there is no hysteresis. Past
  the lookahead the polls are held only while the workers are catching up: partitions
  at their own bound are set aside, and if the rest would take longer than ``BEHIND_S``
  at the workers' recent pace, polling goes on and the slow partition's own bound pauses
  it while the others keep flowing.
- ``wants_more(tp)``: per partition. False makes the loop pause the partition's fetch
  (which drops what the client prefetched for it). Per partition:

      open --in flight reaches max_in_flight_per_partition--> saturated
      saturated --in flight back under RESUME_FRACTION of it--> open

  and False regardless while the partition remembers ``max_uncommitted_per_partition``
  offsets past its lowest unfinished one, while the circuit breaker is open, once the
  manager halted or closed, and for a partition that is closing or not open.

The circuit breaker (escalation PAUSE):

    closed --open_breaker(cooldown)--> open --cooldown passed, or close_breaker()--> closed

Bytes in flight are estimated, not summed per record: records in flight times the mean
size of the records accepted lately (``record_bytes``, a mean over about the last
``SIZE_WINDOW_RECORDS`` records, fed once per submitted run by ``note_sizes``). Records
retire one by one, out of order, in pieces of the runs that brought them; keeping each
one's size to subtract it would cost the per-record path what the estimate costs once per
run. Exact for records of one size; for mixed sizes it follows the recent mix.

Waiting: the consume loop waits for room on ``room`` (``wait_for_room``); retiring
records wakes it once there is room. ``close_partition`` waits on ``drained`` for a
closing partition's running records; whoever lowers ``PartitionWork.running`` of a
closing partition notifies it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from turnout.agent.records import Record, RecordRun
from turnout.agent.work.config import WorkConfig
from turnout.agent.work.lanes import PartitionWork
from turnout.agent.work.lifecycle import Lifecycle
from turnout.protocol.partitions import PartitionId

log = logging.getLogger(__name__)

#: ``has_room`` keeps polling past ``max_ahead`` when the records ahead would take longer
#: than this to finish at the workers' recent pace: they are not catching up, so holding
#: the polls would only slow every partition down to the slowest one's pace.
BEHIND_S = 0.1
#: The workers' pace is sampled this often (by the consume loop, in ``has_room``)...
PACE_SAMPLE_S = 0.01
#: ...and smoothed by this weight of the newest sample.
PACE_SMOOTHING = 0.5
#: After hitting its in-flight bound, a partition is refused until in flight is back under
#: this fraction of it: a librdkafka pause drops the partition's prefetched records and the
#: resume fetches them again, so pausing at every record over the bound would throttle
#: throughput far below the handler's speed.
RESUME_FRACTION = 0.5
#: The mean record size behind the byte bound follows about this many recent records: a
#: few polls, so a change of record sizes shows within a poll or two, while one odd run
#: moves it only by its share.
SIZE_WINDOW_RECORDS = 10_000


class FlowControl:
    """In-flight counts, the answers built on them, and the circuit breaker.

    Locking: ``retire`` and ``room_freed`` are called with the shared lock held;
    ``wait_for_room`` takes it; the rest reads without it."""

    def __init__(
        self,
        config: WorkConfig,
        *,
        lock: threading.Lock,
        parts: dict[PartitionId, PartitionWork],
        lifecycle: Lifecycle,
        clock: Callable[[], float],
    ) -> None:
        self._max_pp = config.max_in_flight_per_partition
        self._max_total = config.max_in_flight
        self._max_bytes = config.max_in_flight_bytes
        self._max_ahead = config.max_ahead
        self._max_span = config.max_uncommitted_per_partition
        self._parts = parts
        self._lifecycle = lifecycle
        self._clock = clock
        #: Records accepted by submit (written only by the consume loop's thread)...
        self.accepted = 0
        #: ...and retired (under the lock): in flight is the difference.
        self.retired = 0
        #: Mean bytes per record accepted lately (``note_sizes``; consume loop's thread)...
        self.record_bytes = 0.0
        #: ...over this many records (up to ``SIZE_WINDOW_RECORDS``).
        self._sized = 0
        #: The consume loop's estimate of the workers' pace (``_pace``).
        self._pace_at = clock()
        self._pace_retired = 0
        self._pace_rate = 0.0
        self._breaker_until: float | None = None
        self.room = threading.Condition(lock)
        #: A consume loop waits on ``room``.
        self._room_wanted = False
        self.drained = threading.Condition(lock)
        #: Called (under the lock) when records retired while a consume loop waited for
        #: room and there is room now: the scheduler's hook to get a worker fetching.
        self.on_room: Callable[[], None] = _nothing

    @property
    def in_flight(self) -> int:
        return self.accepted - self.retired

    @property
    def in_flight_bytes(self) -> int:
        """Bytes of the records in flight, estimated (see the module docstring)."""
        return int((self.accepted - self.retired) * self.record_bytes)

    def note_sizes(self, count: int, nbytes: int) -> None:
        """A run of ``count`` records holding ``nbytes`` was accepted (the consume loop's
        thread, like ``accepted``): fold its mean size into ``record_bytes``."""
        if count <= 0:
            return
        sized = self._sized = min(self._sized + count, SIZE_WINDOW_RECORDS)
        self.record_bytes += (nbytes / count - self.record_bytes) * min(1.0, count / sized)

    def retire(self, part: PartitionWork, count: int) -> None:
        """``count`` records of ``part`` are no longer in flight (finished or dropped)."""
        part.retired += count
        self.retired += count
        if self._room_wanted:
            self._room_freed()

    def _room_freed(self) -> None:
        if self.has_room():
            self._room_wanted = False
            self.room.notify()
            self.on_room()

    def wants_more(self, tp: PartitionId) -> bool:
        lifecycle = self._lifecycle
        if lifecycle.halted or lifecycle.closed:
            return False
        if self._breaker_until is not None and self.breaker_open():
            return False
        part = self._parts.get(tp)
        if part is None or part.closing:
            return False
        in_flight = part.accepted - part.retired
        # Records still in the inbox will join the span when routed: count them now.
        span = part.tracker.span + part.accepted - part.routed
        if span >= self._max_span:
            # No hysteresis here: the span only shrinks when a stuck record finishes.
            return False
        if part.saturated:
            if in_flight > self._max_pp * RESUME_FRACTION:
                return False
            part.saturated = False
            return True
        if in_flight >= self._max_pp:
            part.saturated = True
            return False
        return True

    def has_room(self) -> bool:
        in_flight = self.accepted - self.retired
        if in_flight >= self._max_total or in_flight * self.record_bytes >= self._max_bytes:
            return False
        if in_flight < self._max_ahead:
            return True
        ahead = in_flight - sum(
            part.accepted - part.retired for part in self._parts.values() if part.saturated
        )
        if ahead < self._max_ahead:
            return True
        return ahead > self._pace() * BEHIND_S

    def room_in_records(self) -> int:
        """Records that fit under both memory bounds now (at least 1). Before any record
        told the size, 1: the first poll brings one record, so that a poll of large
        records cannot overshoot the byte bound by a whole poll."""
        if not self._sized:
            return 1
        in_flight = self.accepted - self.retired
        room = self._max_total - in_flight
        size = self.record_bytes
        if size > 0:
            room = min(room, int((self._max_bytes - in_flight * size) / size))
        return max(1, room)

    def wait_for_room(self, timeout_s: float) -> None:
        with self.room:
            if self.has_room():
                return
            self._room_wanted = True
            self.room.wait(timeout_s)
            self._room_wanted = False

    def _pace(self) -> float:
        """Records retired per second lately (an EWMA sampled every ``PACE_SAMPLE_S``)."""
        now = self._clock()
        elapsed = now - self._pace_at
        if elapsed >= PACE_SAMPLE_S:
            retired = self.retired
            rate = (retired - self._pace_retired) / elapsed
            self._pace_rate += PACE_SMOOTHING * (rate - self._pace_rate)
            self._pace_at = now
            self._pace_retired = retired
        return self._pace_rate

    # ---- the circuit breaker ------------------------------------------------------------

    def open_breaker(self, cooldown_s: float) -> None:
        self._breaker_until = self._clock() + cooldown_s

    def close_breaker(self) -> None:
        self._breaker_until = None

    def breaker_open(self) -> bool:
        until = self._breaker_until
        if until is None:
            return False
        if self._clock() >= until:
            self._breaker_until = None
            log.info("circuit breaker closed after its cooldown; consumption resumes")
            return False
        return True


def payload_bytes(records: Sequence[Record]) -> int:
    """The bytes of ``records``' values and keys (a ``RecordRun`` estimates its keys, see
    ``RecordRun.payload_bytes``)."""
    if type(records) is RecordRun:
        return records.payload_bytes()
    return sum(len(record.value or b"") + len(record.key or b"") for record in records)


def _nothing() -> None:
    return None
