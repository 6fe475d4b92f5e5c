"""What librdkafka reports back to one producer: delivery reports and errors.

:class:`ReportReader` turns delivery reports into counts (always), :class:`Delivery`
values (for tracked messages) and :class:`ProducerError` values (for failures), and
keeps the producer's fatal state: a fatal error, from the error callback or a delivery
report, is recorded once and from then on every refused call and purged message reports
it. All of its methods run while the producer's serving turn is held (they are librdkafka
callbacks), except :meth:`fatal_error`, which only reads.
"""

from __future__ import annotations

import logging
import math
import time
from bisect import bisect_left
from collections.abc import Callable
from typing import cast

from confluent_kafka import KafkaError, Message

from turnout.producer.countdown import DeliveryCountdown
from turnout.producer.delivery import Delivery, UnwatchedFailureLog
from turnout.producer.errors import (
    FatalProducerError,
    KafkaProducerError,
    ProducerError,
    UndeliveredError,
    classify,
)
from turnout.producer.metrics import DELIVERY_LATENCY_BUCKETS, DeliveryStats

logger = logging.getLogger("turnout.producer")

_PURGED = frozenset({KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT})

#: A delivery report callback, as confluent-kafka calls it.
ReportCallback = Callable[[KafkaError | None, Message], None]


class ReportReader:
    """Reads one producer's reports. ``on_fatal`` is called once, on the first fatal error.

    ``purge_reason`` says why messages are being purged (librdkafka reports them with a
    purge code): the producer sets it before it purges (closing, aborting a transaction).
    """

    def __init__(
        self,
        producer_name: str,
        stats: DeliveryStats,
        on_fatal: Callable[[], None],
        latency_sample_every: int = 1,
    ) -> None:
        self._name = producer_name
        self._stats = stats
        self._on_fatal = on_fatal
        self._unwatched = UnwatchedFailureLog(producer_name, time.monotonic)
        self.fatal: FatalProducerError | None = None
        self.purge_reason = f"producer {producer_name!r} purged its queue"
        self._on_report = self._report_callback(latency_sample_every)

    def untracked_callback(self) -> ReportCallback:
        """The delivery report callback for messages nobody waits for."""
        return self._on_report

    def _report_callback(self, every: int) -> ReportCallback:
        """Counts a delivery report: it runs once per message, so it is a closure over
        everything it touches. Its latency histogram samples the first acknowledgement
        and one in every ``every`` after it (reading the latency of those only), and
        finds a sample's bucket by trying the previous sample's first: reports come in
        batches of similar latency, and two comparisons cost less than a bisection. Its
        state is safe because reports are served one thread at a time."""
        stats = self._stats
        counts = stats.latency_counts
        bounds = DELIVERY_LATENCY_BUCKETS
        failed = self._unwatched.failed
        failure = self.failure
        until_sample = 1
        bucket = 0
        above = -math.inf
        up_to = bounds[0]

        def on_report(error: KafkaError | None, message: Message) -> None:
            nonlocal until_sample, bucket, above, up_to
            if error is not None:
                failed(failure(error, message))
                return
            stats.acked += 1
            until_sample -= 1
            if until_sample:
                return
            until_sample = every
            latency = message.latency()
            if latency is not None:
                if not above < latency <= up_to:
                    bucket = bisect_left(bounds, latency)
                    above = bounds[bucket - 1] if bucket else -math.inf
                    up_to = bounds[bucket] if bucket < len(bounds) else math.inf
                counts[bucket] += 1
                stats.latency_sum += latency

        return on_report

    def countdown_callback(self, countdown: DeliveryCountdown) -> ReportCallback:
        """The delivery report callback of a batch counted down by ``countdown``: each
        report is counted as the untracked ones are, then counted down."""
        on_report = self._on_report
        failure = self.failure
        acknowledged = countdown.acknowledged
        failed = countdown.failed

        def on_counted_report(error: KafkaError | None, message: Message) -> None:
            if error is None:
                on_report(None, message)
                acknowledged()
            else:
                failed(failure(error, message))

        return on_counted_report

    def read(self, error: KafkaError | None, message: Message) -> Delivery:
        """The delivery report of a tracked message, counted, as a Delivery."""
        latency = message.latency()
        topic = cast(str, message.topic())
        partition = cast(int, message.partition())
        timestamp_ms = message.timestamp()[1]
        if error is None:
            self._on_report(None, message)
            offset = cast(int, message.offset())
            return Delivery(topic, partition, offset, timestamp_ms, latency)
        return Delivery(topic, partition, -1, timestamp_ms, latency, self.failure(error, message))

    def failure(self, error: KafkaError, message: Message) -> ProducerError:
        """A failed delivery report, counted, as the error its waiter gets."""
        self._stats.record_failure(error.name())
        topic = message.topic()
        partition = message.partition()
        code = error.code()
        if code in _PURGED:
            # librdkafka purges the queue on a fatal error (after serving the error
            # callback); close() purges what it gives up on, and an abort what the
            # transaction had not sent.
            if self.fatal is not None:
                return self.fatal_error()
            in_flight = code == KafkaError._PURGE_INFLIGHT
            fate = (
                "it was in flight: it may or may not have been written"
                if in_flight
                else "it was never sent"
            )
            return UndeliveredError(
                f"{topic}[{partition}]: not acknowledged: {self.purge_reason}; {fate}",
                in_flight=in_flight,
            )
        failed = classify(error, topic=topic, partition=partition)
        if isinstance(failed, FatalProducerError):
            self.become_failed(failed)
        return failed

    def on_error(self, error: KafkaError) -> None:
        """librdkafka's error callback: the errors here are transient (librdkafka retries
        them itself) and only logged. (confluent-kafka raises fatal errors from poll
        instead; one arriving here anyway fails the producer.)"""
        if error.fatal():
            failed = classify(error)
            assert isinstance(failed, FatalProducerError)
            self.become_failed(failed)
        else:
            logger.warning("producer %s: %s (%s)", self._name, error.str(), error.name())

    def become_failed(self, error: FatalProducerError) -> None:
        if self.fatal is None:
            self.fatal = error
            self._on_fatal()
            logger.error("producer %s failed and can send nothing more: %s", self._name, error)

    def fatal_error(self) -> KafkaProducerError:
        """A fresh exception for the fatal error (raising one instance from many calls
        would pile their tracebacks onto it), caused by the original."""
        assert self.fatal is not None
        error = classify(self.fatal.kafka_error)
        error.__cause__ = self.fatal
        return error
