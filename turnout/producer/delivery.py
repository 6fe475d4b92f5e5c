"""A message's delivery outcome, and the ways a caller can wait for it.

Only a caller who asks (``on_delivery`` for a callback, ``send`` for a future, which is
a callback that settles it) pays for a :class:`TrackedMessage` and a :class:`Delivery`:
a plain ``produce`` allocates neither. A tracked message is settled exactly once, by its
delivery report or, if ``close`` gives up on it, by :meth:`TrackedMessage.abandon`; so a
future never stays pending past ``close``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message

from turnout.producer.errors import ProducerError

logger = logging.getLogger("turnout.producer")


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a message landed, or why it did not (``error``; ``offset`` is then -1)."""

    topic: str
    partition: int
    offset: int
    #: The record's timestamp (milliseconds since the epoch), as written.
    timestamp_ms: int
    #: From produce to the delivery report, as librdkafka measured it.
    latency_s: float | None
    error: ProducerError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


DeliveryCallback = Callable[[Delivery], None]
DeliveryFuture = Future[Delivery]
#: Turns a delivery report into a Delivery, recording it in the producer's counts.
ReportReader = Callable[[KafkaError | None, Message], Delivery]


async def delivered(future: DeliveryFuture) -> Delivery:
    """Await a :meth:`~turnout.producer.Producer.send` future from a coroutine.

    Returns the Delivery, or raises its error. Safe from any event loop: the future is
    settled in the producer's serving thread and handed over thread-safely.
    """
    return await asyncio.wrap_future(future)


class TrackedMessage:
    """One message a caller waits for, through its delivery callback."""

    __slots__ = ("_callback", "_partition", "_pending", "_read", "_topic")

    def __init__(
        self,
        read: ReportReader,
        pending: set[TrackedMessage],
        topic: str,
        partition: int,
        callback: DeliveryCallback,
    ) -> None:
        self._read = read
        self._pending = pending
        self._topic = topic
        self._partition = partition
        self._callback = callback
        pending.add(self)

    def report(self, error: KafkaError | None, message: Message) -> None:
        """librdkafka's delivery report for this message (the per-message on_delivery)."""
        self.settle(self._read(error, message))

    def fail(self, error: ProducerError) -> None:
        """Settle as not delivered (the produce call was refused, or close gave up)."""
        self.settle(Delivery(self._topic, self._partition, -1, 0, None, error))

    def abandon(self, error: ProducerError) -> None:
        """:meth:`fail`, unless the delivery report already settled the message."""
        if self in self._pending:
            self.fail(error)

    def settle(self, delivery: Delivery) -> None:
        self._pending.discard(self)
        try:
            self._callback(delivery)
        except Exception:
            # The callback runs inside librdkafka's poll: an exception escaping it would
            # surface in whichever thread happened to serve the report.
            logger.exception(
                "on_delivery callback for %s[%d] raised", delivery.topic, delivery.partition
            )


def resolver(future: DeliveryFuture) -> DeliveryCallback:
    """The delivery callback that settles ``future`` (set running first: a message in
    the queue cannot be taken back, so its future must not be cancellable either)."""
    future.set_running_or_notify_cancel()

    def resolve(delivery: Delivery) -> None:
        if delivery.error is None:
            future.set_result(delivery)
        else:
            future.set_exception(delivery.error)

    return resolve


#: Failures nobody waits for are logged at most once per this long (with a count of
#: those in between): a cluster that is down fails every queued message at once.
UNWATCHED_FAILURE_LOG_INTERVAL_S = 10.0


class UnwatchedFailureLog:
    """Logs the delivery failures of messages produced without a future or callback, so
    that they are never silent, without a line per message."""

    def __init__(self, producer_name: str, clock: Callable[[], float]) -> None:
        self._name = producer_name
        self._clock = clock
        self._next_log_at = 0.0
        self._suppressed = 0

    def failed(self, error: ProducerError) -> None:
        """Called while holding the serving turn (one caller at a time)."""
        now = self._clock()
        if now < self._next_log_at:
            self._suppressed += 1
            return
        logger.warning(
            "producer %s: a delivery failed: %s (%d more failures since the last report; "
            "every failure is counted in turnout_producer_failed_total)",
            self._name,
            error,
            self._suppressed,
        )
        self._suppressed = 0
        self._next_log_at = now + UNWATCHED_FAILURE_LOG_INTERVAL_S
