"""A typed Kafka producer over confluent-kafka: serializers, delivery futures and
callbacks, a bounded queue with a chosen full policy, metrics, and a bounded close.

States::

    OPEN --close()--> CLOSED
    OPEN --fatal error--> FAILED --close()--> CLOSED

- OPEN: ``produce`` and ``send`` queue messages; delivery reports are served by the
  producing thread and the poller (see :mod:`turnout.producer.serving`).
- FAILED: librdkafka reported a fatal error (for example a fenced producer). Every later
  ``produce`` raises it as a :class:`FatalProducerError`; queued messages fail with it.
  Only ``close`` is left to do.
- CLOSED: ``close`` stopped the poller, flushed for at most its timeout, then purged
  what was left: every message not acknowledged by then fails (its future or callback
  gets :class:`UndeliveredError`), and the returned :class:`CloseReport` counts them.
  ``produce`` raises :class:`ProducerClosedError`. ``close`` again returns the same report.

A batch whose caller waits for all of it at once writes with ``produce_reported`` and
one :class:`~turnout.producer.countdown.DeliveryCountdown`, not a future per record.

The per-message path (``produce`` on a producer without serializers, with no callback
and no options) is one Python call into librdkafka, with as few arguments as the record
needs (each costs the binding a conversion), plus a few tests; serializers, trackers and
futures are paid for only by the calls that use them. Its arguments are
positional-or-keyword on purpose: CPython fills a missing keyword-only argument by a dict
look-up, a missing positional one from a tuple, and on a path this short the difference
shows.

Why this module is long: it is one class whose per-message path must read
its own attributes (a helper object would add look-ups per message); what can stand
apart does: the full-queue wait (queueing.py), report reading (reports.py), serving
(serving.py), counts (metrics.py).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Generic, Self

from confluent_kafka import KafkaException
from confluent_kafka import Producer as KafkaProducer
from prometheus_client import CollectorRegistry
from typing_extensions import TypeVar

from turnout.producer.config import ProduceOptions, ProducerConfig, QueueFullPolicy
from turnout.producer.countdown import DeliveryCountdown
from turnout.producer.delivery import (
    Delivery,
    DeliveryCallback,
    DeliveryFuture,
    TrackedMessage,
    delivered,
    resolver,
)
from turnout.producer.errors import (
    FatalProducerError,
    KafkaProducerError,
    ProducerClosedError,
    ProducerError,
    QueueFullError,
    SerializationError,
    UndeliveredError,
    classify,
)
from turnout.producer.metrics import DeliveryStats, report_to
from turnout.producer.queueing import wait_for_room
from turnout.producer.reports import ReportCallback, ReportReader
from turnout.producer.serializers import Serializer
from turnout.producer.serving import POLL_SLICE_S, CallbackServer

K = TypeVar("K", default=bytes)
V = TypeVar("V", default=bytes)

#: librdkafka's "any partition": the partitioner chooses (by key, if there is one).
PARTITION_ANY = -1
#: After close purges what it gave up on, serving the purged messages' reports is local
#: work (no broker involved): this only guards against a wedged handle.
PURGE_SERVE_TIMEOUT_S = 5.0

#: Record headers as librdkafka takes them: a dict, or a list of pairs (names may repeat).
Headers = dict[str, bytes | str | None] | list[tuple[str, bytes | str | None]]
#: One record for :meth:`Producer.produce_writes`: topic, value, key, partition
#: (``PARTITION_ANY``: the partitioner's), timestamp in ms (0: now), headers.
Write = tuple[str, bytes | str | None, bytes | str | None, int, int, Headers | None]

logger = logging.getLogger("turnout.producer")


@dataclass(frozen=True)
class CloseReport:
    """What ``close`` could not deliver."""

    #: Messages still unacknowledged at the close timeout: each failed with
    #: UndeliveredError (through its future or callback, if it had one).
    undelivered: int
    #: Time spent flushing.
    flush_s: float

    @property
    def clean(self) -> bool:
        return self.undelivered == 0


class Producer(Generic[K, V]):
    """Produces typed records to Kafka. Thread-safe; use as a context manager or close it.

    ``key_serializer`` and ``value_serializer`` turn keys and values into bytes; without
    one, keys and values must be ``bytes`` or ``str`` and pass straight through. Metrics go
    to ``registry`` (a new one if not given) under the label ``producer=name`` (default
    ``config.client_id``).
    """

    #: The idle poller's slice (``serving.POLL_SLICE_S``).
    _poll_slice_s = POLL_SLICE_S

    def __init__(
        self,
        config: ProducerConfig | None = None,
        *,
        key_serializer: Serializer[K] | None = None,
        value_serializer: Serializer[V] | None = None,
        registry: CollectorRegistry | None = None,
        name: str | None = None,
    ) -> None:
        self.config = config if config is not None else ProducerConfig()
        self.name = name if name is not None else self.config.client_id
        self.registry = registry if registry is not None else CollectorRegistry()
        self._key_serializer = key_serializer
        self._value_serializer = value_serializer
        self._serializing = key_serializer is not None or value_serializer is not None
        #: Usable and without serializers: the one flag the per-message path reads.
        self._plain = not self._serializing
        self._pending: set[TrackedMessage] = set()
        self._closed = False
        #: True once FAILED or CLOSED.
        self._unusable = False
        self._close_lock = threading.Lock()
        self._close_report: CloseReport | None = None
        self._server = CallbackServer(self._poll, self.name, self._poll_slice_s)
        self.stats = DeliveryStats(self._queue_depth, self._server.quiet)
        self._reports = ReportReader(
            self.name, self.stats, self._become_unusable, self.config.latency_sample_every
        )
        # The client first: once registered, a scrape reads the client's queue depth,
        # and building a (transactional) client takes a while.
        self._kafka = KafkaProducer(self._librdkafka_config())
        try:
            self._unregister = report_to(self.registry, self.name, self.stats)
        except BaseException:
            self._kafka.close()
            raise
        #: The same client, untyped on purpose: without serializers, keys and values go
        #: to librdkafka as they come, and a wrong type is its TypeError (turned into a
        #: SerializationError). Called as ``self._untyped.produce(...)``, not through a
        #: stored bound method, which CPython would call the slower way (a tuple per call).
        self._untyped: Any = self._kafka
        if self._serves_in_background():
            self._server.start()

    def _serves_in_background(self) -> bool:
        """Whether a poller thread serves the callbacks while nobody else does (see
        :mod:`turnout.producer.serving`)."""
        return True

    def _librdkafka_config(self) -> dict[str, Any]:
        """librdkafka's configuration: the typed config plus the producer's callbacks."""
        return {
            **self.config.librdkafka_config(),
            "on_delivery": self._reports.untracked_callback(),
            "error_cb": self._reports.on_error,
        }

    # -- producing ---------------------------------------------------------------------

    def produce(
        self,
        topic: str,
        value: V | None,
        key: K | None = None,
        partition: int = PARTITION_ANY,
        timestamp_ms: int = 0,
        headers: Headers | None = None,
        on_delivery: DeliveryCallback | None = None,
        options: ProduceOptions[K, V] | None = None,
    ) -> None:
        """Queue one record. Returns once librdkafka holds it; delivery is reported later.

        ``timestamp_ms`` 0 means now. ``on_delivery`` is called once with the
        :class:`Delivery` (from the thread serving reports; it must not block). A record
        librdkafka refuses outright (unknown partition, too large) goes to ``on_delivery``
        as a failed Delivery if there is one, and is raised otherwise. Raises
        :class:`SerializationError`, :class:`QueueFullError`, :class:`ProducerClosedError`
        or :class:`FatalProducerError` whatever ``on_delivery`` is.
        """
        if on_delivery is not None or options is not None or not self._plain:
            self._produce_with(
                topic, value, key, partition, timestamp_ms, headers, on_delivery, options
            )
            return
        try:
            if partition == -1 and not timestamp_ms and headers is None:
                # Each argument given costs librdkafka's binding a conversion: the
                # common record (partitioner's choice, now, no headers) passes three.
                # (-1 is PARTITION_ANY, a literal to spare a global look-up.)
                self._untyped.produce(topic, value, key)
            else:
                self._untyped.produce(
                    topic, value, key, partition, None, None, timestamp_ms, headers
                )
        except Exception as exc:
            self._produce_slowly(
                exc,
                (topic, value, key, partition, None, None, timestamp_ms, headers),
                self.config.queue_full,
                self.config.queue_full_timeout_s,
            )
        if self._server.serve_requested:
            self._server.serve_inline()

    def produce_writes(self, writes: Sequence[Write], report: ReportCallback | None = None) -> None:
        """Queue each of ``writes`` as :meth:`produce` would with no options, in order:
        the batch path, whose loop runs here rather than a Python call per record. Each
        record's delivery report goes to ``report`` (from :meth:`reporting_to`) if given,
        else it is only counted. Keys, values and header values must be ``bytes`` or
        ``str`` (no serializers). A record refused part way raises as :meth:`produce`
        does (with ``report``, its report never comes), the records before it queued."""
        if not self._plain:
            self._check_usable()
            if self._serializing:
                raise SerializationError(
                    f"producer {self.name!r} has serializers: produce_writes takes bytes or str"
                )
        kafka = self._untyped
        server = self._server
        for topic, value, key, partition, timestamp_ms, headers in writes:
            try:
                if report is None and partition == -1 and not timestamp_ms and headers is None:
                    kafka.produce(topic, value, key)
                else:
                    kafka.produce(topic, value, key, partition, report, None, timestamp_ms, headers)
            except Exception as exc:
                self._produce_slowly(
                    exc,
                    (topic, value, key, partition, report, None, timestamp_ms, headers),
                    self.config.queue_full,
                    self.config.queue_full_timeout_s,
                )
            if server.serve_requested:
                server.serve_inline()

    def send(
        self,
        topic: str,
        value: V | None,
        key: K | None = None,
        partition: int = PARTITION_ANY,
        timestamp_ms: int = 0,
        headers: Headers | None = None,
        options: ProduceOptions[K, V] | None = None,
    ) -> DeliveryFuture:
        """:meth:`produce`, returning a future of the :class:`Delivery` (its error is
        raised by ``result()``). A record librdkafka refuses outright fails the future."""
        future: DeliveryFuture = Future()
        self.produce(topic, value, key, partition, timestamp_ms, headers, resolver(future), options)
        return future

    def reporting_to(self, countdown: DeliveryCountdown) -> ReportCallback:
        """The delivery report callback that counts ``countdown`` down, for
        :meth:`produce_reported` (one per batch: see :mod:`turnout.producer.countdown`)."""
        return self._reports.countdown_callback(countdown)

    def produce_reported(
        self,
        topic: str,
        value: V | None,
        key: K | None,
        headers: Headers | None,
        report: ReportCallback,
        *,
        partition: int = PARTITION_ANY,
        timestamp_ms: int = 0,
    ) -> None:
        """Queue one record (to ``partition``, or the partitioner's choice), whose delivery
        report goes to ``report`` (from :meth:`reporting_to`): the batch path, with no
        future or :class:`Delivery` per record. Keys, values and header values must be ``bytes`` or
        ``str`` (no serializers). A full queue is handled as by :meth:`produce`; a record
        librdkafka refuses outright is raised (its report never comes)."""
        if not self._plain:
            self._check_usable()
            if self._serializing:
                raise SerializationError(
                    f"producer {self.name!r} has serializers: produce_reported takes bytes or str"
                )
        arguments = (topic, value, key, partition, report, None, timestamp_ms, headers)
        try:
            self._untyped.produce(*arguments)
        except Exception as exc:
            self._produce_slowly(
                exc, arguments, self.config.queue_full, self.config.queue_full_timeout_s
            )
        if self._server.serve_requested:
            self._server.serve_inline()

    async def send_async(
        self,
        topic: str,
        value: V | None,
        key: K | None = None,
        partition: int = PARTITION_ANY,
        timestamp_ms: int = 0,
        headers: Headers | None = None,
        options: ProduceOptions[K, V] | None = None,
    ) -> Delivery:
        """:meth:`send` for coroutines: awaits the delivery and returns it (or raises).

        It never blocks the event loop: under the ``block`` policy a full queue is waited
        for in a worker thread.
        """
        given: ProduceOptions[K, V] = options if options is not None else ProduceOptions()
        policy = given.queue_full or self.config.queue_full
        record = (topic, value, key, partition, timestamp_ms, headers)
        try:
            future = self.send(*record, replace(given, queue_full=QueueFullPolicy.RAISE))
        except QueueFullError:
            if policy is QueueFullPolicy.RAISE:
                raise
            blocking = replace(given, queue_full=QueueFullPolicy.BLOCK)
            future = await asyncio.to_thread(self.send, *record, blocking)
        return await delivered(future)

    def connect(self, topics: Sequence[str], timeout_s: float) -> None:
        """Connect to the cluster and learn ``topics``' partition leaders now (a metadata
        request per topic), rather than at the first produce, and leave a connection to
        one of the brokers the cluster named up. The first answer comes over the
        bootstrap address, and librdkafka connects to a broker it learned of only when
        something needs one; so one more request, which needs one, waits for it. Without
        that connection a transactional producer's first call finds no broker to ask for
        its coordinator and waits for librdkafka's coordinator query timer (half a
        second) instead. Raises :class:`KafkaProducerError` if the cluster does not
        answer within ``timeout_s``."""
        if self._unusable:
            raise self._unusable_error()
        try:
            for topic in topics:
                self._kafka.list_topics(topic, timeout=timeout_s)
            self._kafka.list_topics(topics[0] if topics else None, timeout=timeout_s)
        except KafkaException as exc:
            raise classify(exc.args[0]) from exc

    def flush(self, timeout_s: float) -> int:
        """Wait up to ``timeout_s`` for every queued message's delivery report; returns how
        many are still outstanding."""
        if self._closed:
            raise ProducerClosedError(f"producer {self.name!r} is closed")
        with self._server.turn():
            return self._flush(timeout_s)

    def __len__(self) -> int:
        """Messages queued or in flight whose delivery report has not been served."""
        return self._queue_depth()

    # -- closing -----------------------------------------------------------------------

    def close(self, timeout_s: float | None = None) -> CloseReport:
        """Flush for up to ``timeout_s`` (default ``config.close_timeout_s``), then give up
        on what is left (failing it with :class:`UndeliveredError`) and release the
        client. Never leaves a future pending."""
        with self._close_lock:
            if self._close_report is not None:
                return self._close_report
            self._closed = True
            self._become_unusable()
            timeout = self.config.close_timeout_s if timeout_s is None else timeout_s
            self._reports.purge_reason = f"producer {self.name!r} closed after {timeout:g} s"
            started = time.monotonic()
            try:
                self._server.stop()
                with self._server.turn():
                    undelivered = self._flush(timeout)
                    flush_s = time.monotonic() - started
                    if undelivered:
                        self._purge()
                    for tracked in list(self._pending):
                        tracked.abandon(
                            UndeliveredError(
                                f"producer {self.name!r} closed before the delivery report came",
                                in_flight=True,
                            )
                        )
                    self._release_client()
            finally:
                # Whatever the client did, the name is free again: a producer made to
                # replace this one (a fenced transactional id taken over) reports under it.
                self._unregister()
            if undelivered:
                logger.warning(
                    "producer %s closed with %d messages undelivered after %.1f s",
                    self.name,
                    undelivered,
                    timeout,
                )
            self._close_report = CloseReport(undelivered=undelivered, flush_s=flush_s)
            return self._close_report

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------

    def _produce_with(
        self,
        topic: str,
        value: V | None,
        key: K | None,
        partition: int,
        timestamp_ms: int,
        headers: Headers | None,
        on_delivery: DeliveryCallback | None,
        options: ProduceOptions[K, V] | None,
    ) -> None:
        """:meth:`produce` with serializers, options or a delivery callback, or on an
        unusable producer."""
        if self._unusable:
            raise self._unusable_error()
        key_serializer = self._key_serializer
        value_serializer = self._value_serializer
        policy = self.config.queue_full
        timeout_s = self.config.queue_full_timeout_s
        if options is not None:
            if options.key_serializer is not None:
                key_serializer = options.key_serializer
            if options.value_serializer is not None:
                value_serializer = options.value_serializer
            if options.queue_full is not None:
                policy = options.queue_full
            if options.queue_full_timeout_s is not None:
                timeout_s = options.queue_full_timeout_s
        payload: Any = value
        if value is not None and value_serializer is not None:
            payload = self._serialized(value_serializer, value, topic, "value")
        payload_key: Any = key
        if key is not None and key_serializer is not None:
            payload_key = self._serialized(key_serializer, key, topic, "key")
        tracked = None
        report = None
        if on_delivery is not None:
            tracked = TrackedMessage(
                self._reports.read, self._pending, topic, partition, on_delivery
            )
            report = tracked.report
        arguments = (topic, payload, payload_key, partition, report, None, timestamp_ms, headers)
        try:
            self._untyped.produce(*arguments)
        except Exception as exc:
            try:
                self._produce_slowly(exc, arguments, policy, timeout_s)
            except KafkaProducerError as error:
                if tracked is None or isinstance(error, FatalProducerError):
                    self._pending.discard(tracked)
                    raise
                tracked.fail(error)
                return
            except BaseException:
                self._pending.discard(tracked)
                raise
        if self._server.serve_requested:
            self._server.serve_inline()

    def _serialized(self, serialize: Serializer[Any], item: Any, topic: str, what: str) -> Any:
        try:
            return serialize(item, topic)
        except Exception as exc:
            self.stats.record_rejection("serialization")
            raise SerializationError(f"the {what} for {topic} did not serialize: {exc}") from exc

    def _produce_slowly(
        self,
        exc: Exception,
        arguments: tuple[Any, ...],
        policy: QueueFullPolicy,
        timeout_s: float,
    ) -> None:
        """The produce call raised ``exc``: wait for room and retry (a full queue, under
        the block policy) until it is accepted, or raise the ProducerError for it."""
        topic, partition = arguments[0], arguments[3]
        if not isinstance(exc, BufferError):
            raise self._refusal(exc, topic, partition)
        self.stats.record_queue_full()
        try:
            wait_for_room(
                lambda: self._untyped.produce(*arguments),
                policy=policy,
                timeout_s=timeout_s,
                serve_for=self._server.serve_for,
                check_usable=self._check_usable,
                full=(
                    f"the queue of producer {self.name!r} ({self.config.queue_max_messages} "
                    f"messages or {self.config.queue_max_kbytes} KiB)"
                ),
            )
        except ProducerError:
            raise
        except Exception as retry_exc:
            raise self._refusal(retry_exc, topic, partition) from None

    def _check_usable(self) -> None:
        if self._unusable:
            raise self._unusable_error()

    def _refusal(self, exc: Exception, topic: str, partition: int) -> ProducerError:
        """The ProducerError for a produce call librdkafka refused with ``exc``."""
        if isinstance(exc, KafkaException):
            error = classify(exc.args[0], topic=topic, partition=partition)
            self.stats.record_rejection(error.kafka_error.name())
            if isinstance(error, FatalProducerError):
                self._reports.become_failed(error)
            error.__cause__ = exc
            return error
        if isinstance(exc, RuntimeError) and self._unusable:
            return self._unusable_error()
        if isinstance(exc, TypeError | ValueError):
            self.stats.record_rejection("serialization")
            unfit = SerializationError(
                f"{topic}: key, value or headers are not what librdkafka takes "
                f"(bytes or str without a serializer): {exc}"
            )
            unfit.__cause__ = exc
            return unfit
        raise exc

    def _unusable_error(self) -> ProducerError:
        if self._closed:
            return ProducerClosedError(f"producer {self.name!r} is closed")
        return self._reports.fatal_error()

    def _become_unusable(self) -> None:
        self._unusable = True
        self._plain = False

    def _poll(self, timeout_s: float) -> int:
        try:
            return self._kafka.poll(timeout_s)
        except KafkaException as exc:
            self._raised_while_serving(exc)
            return 0

    def _flush(self, timeout_s: float) -> int:
        try:
            return self._kafka.flush(timeout_s)
        except KafkaException as exc:
            self._raised_while_serving(exc)
            return len(self._kafka)

    def _purge(self) -> None:
        """Drop what is still queued or in flight, and serve the reports that fail it. A
        client that failed fatally (a fenced transactional producer) may refuse the purge:
        its records are failed by the fatal error already."""
        try:
            self._kafka.purge(in_queue=True, in_flight=True, blocking=True)
        except KafkaException as exc:
            logger.warning("producer %s: purge at close refused: %s", self.name, exc)
        self._flush(PURGE_SERVE_TIMEOUT_S)

    def _raised_while_serving(self, exc: KafkaException) -> None:
        """confluent-kafka raises a fatal error from whichever call is serving callbacks
        (poll, flush) instead of passing it to the error callback: it fails the producer
        here, and the messages librdkafka purges for it report it."""
        error = classify(exc.args[0])
        if isinstance(error, FatalProducerError):
            self._reports.become_failed(error)
        else:
            logger.warning("producer %s: serving callbacks raised %s", self.name, error)

    def _release_client(self) -> None:
        """Destroy the librdkafka handle. On a failed transactional producer, its close
        tries to abort the open transaction, which the fencing makes impossible, and
        says so in a RuntimeWarning: expected, so not shown."""
        with warnings.catch_warnings():
            if self._reports.fatal is not None:
                warnings.simplefilter("ignore", RuntimeWarning)
            self._kafka.close()

    def _queue_depth(self) -> int:
        return 0 if self._closed else len(self._kafka)
