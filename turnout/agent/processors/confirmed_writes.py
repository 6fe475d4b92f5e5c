"""An at-least-once call's outputs written and confirmed through a producer of its own.

A :class:`~turnout.producer.ConfirmingProducer` confirms by flushing, so it confirms one
call's outputs only while no other call writes through it. :class:`ConfirmedWrites`
keeps a pool: a call takes an idle producer (or makes one), writes its outputs, confirms
them and gives the producer back. There are never more producers than calls in flight at
once: at most the deployment's workers, and under ``partition`` or ``key`` ordering
rarely more than the partitions an instance owns. ``PREPARED_PRODUCERS`` (or the workers,
if fewer) are made with the pool, so the first calls find producers already connecting.

Each producer has its own connections and librdkafka threads (one per broker it talks
to, and a few of its own): docs/processors.md, "What it costs", says what that comes to.

Per producer::

    idle ──a call takes it──▶ writing ──every output acknowledged──▶ idle
    writing ──an output failed, or not all were acknowledged within the call's bound──▶
        closed at once (what it had not sent is dropped; counted failed): the call fails
        and the work manager retries it, through another producer. A producer is never
        reused after a failure, so records a failed call left queued cannot land after
        the retry's copies through the same producer's queue (a record it had already
        sent still may: docs/processors.md, "At least once").
    any ──the pool closes──▶ closed (each flushed within the close's bound)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from turnout.agent.processors.at_least_once import OutputsNotAcknowledged
from turnout.producer import ConfirmingProducer, ProducerClosedError, Write

#: Producers made with the pool (fewer if the deployment has fewer workers): a call in
#: flight per owned partition is the common case, and a producer made at the first call
#: would keep that call waiting while it connects and gets its idempotence id (tens to
#: hundreds of milliseconds). More are made as calls need them.
PREPARED_PRODUCERS = 8

#: Makes a producer under a name unique in the agent's metrics registry.
ProducerMaker = Callable[[str], ConfirmingProducer[bytes | str, bytes | str]]


class ConfirmedWrites:
    """The pool of producers of one at-least-once runner (see the module docstring)."""

    def __init__(self, make: ProducerMaker, name: str, prepared: int) -> None:
        self._make = make
        self._name = name
        self._lock = threading.Lock()
        self._idle: list[ConfirmingProducer[bytes | str, bytes | str]] = []
        self._every: list[ConfirmingProducer[bytes | str, bytes | str]] = []
        self._made = 0
        self._closed = False
        with self._lock:
            self._idle.extend(self._new() for _ in range(prepared))

    def _new(self) -> ConfirmingProducer[bytes | str, bytes | str]:
        """A new producer, numbered from 1 (the lock is held)."""
        self._made += 1
        producer = self._make(f"{self._name}.{self._made}")
        self._every.append(producer)
        return producer

    @property
    def producers(self) -> int:
        """Producers open now (idle or writing)."""
        with self._lock:
            return len(self._every)

    def write(self, writes: Sequence[Write], timeout_s: float) -> None:
        """Produce ``writes`` in order and return once every one is acknowledged; raises
        the first failure, or ``OutputsNotAcknowledged`` after ``timeout_s``."""
        with self._lock:
            if self._closed:
                raise ProducerClosedError(f"the outputs of {self._name!r} are closed")
            producer = self._idle.pop() if self._idle else self._new()
        confirmed = False
        try:
            producer.produce_writes(writes)
            outstanding = producer.confirm(timeout_s)
            if outstanding:
                raise OutputsNotAcknowledged(
                    f"{outstanding} of {len(writes)} outputs not acknowledged within {timeout_s} s"
                )
            confirmed = True
        finally:
            if confirmed:
                with self._lock:
                    if not self._closed:
                        self._idle.append(producer)
            else:
                self._discard(producer)

    def _discard(self, producer: ConfirmingProducer[bytes | str, bytes | str]) -> None:
        with self._lock:
            if producer in self._every:  # else the pool's close has it
                self._every.remove(producer)
        producer.close(0.0)

    def close(self, timeout_s: float) -> None:
        """Flush and close every producer, within ``timeout_s`` in all."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            self._closed = True
            closing, self._every, self._idle = self._every, [], []
        for producer in closing:
            producer.close(max(0.0, deadline - time.monotonic()))
