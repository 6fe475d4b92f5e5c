"""The producer's errors: one hierarchy, sorted by what the caller can do next.

::

    ProducerError
    ├── SerializationError         the key or value could not be serialized: nothing was sent
    ├── QueueFullError             the local queue stayed full: nothing was sent
    ├── ProducerClosedError        produce after close()
    ├── UndeliveredError           purged before it was acknowledged (close gave up,
    │                              or its transaction was aborted)
    └── KafkaProducerError         Kafka or librdkafka reported an error (``kafka_error``)
        ├── RetriableProducerError     transient: sending the message again may succeed
        ├── PermanentProducerError     this message cannot be delivered as it is
        ├── TransactionAbortRequiredError  the open transaction must be aborted
        └── FatalProducerError         the producer can send nothing more: close it
            └── ProducerFencedError    a newer producer with the same transactional.id
                                       (or a newer epoch) took over

Every error raised by :mod:`turnout.producer` or delivered to a future or callback is one
of these; the librdkafka error, where there is one, is kept as ``kafka_error`` (and as
``__cause__`` when it came as an exception).
"""

from __future__ import annotations

from confluent_kafka import KafkaError

#: Codes that mean another producer took over this producer's identity: the
#: transactional.id was initialised again elsewhere, or the broker bumped the epoch.
FENCED_CODES = frozenset(
    {KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH}
)
#: Delivery-report codes where sending the same message again may succeed. librdkafka
#: already retried these internally until ``message.timeout.ms``; a delivery report
#: carries no retriable flag of its own, so the classification is ours.
RETRIABLE_DELIVERY_CODES = frozenset(
    {
        KafkaError._MSG_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.NOT_ENOUGH_REPLICAS,
        KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.NETWORK_EXCEPTION,
        KafkaError.KAFKA_STORAGE_ERROR,
    }
)


class ProducerError(Exception):
    """Base of every error of :mod:`turnout.producer`."""


class SerializationError(ProducerError):
    """A serializer failed (``__cause__`` is its exception); nothing was sent."""


class QueueFullError(ProducerError):
    """The producer's local queue was full and stayed full: the ``raise`` policy, or the
    ``block`` policy's timeout ran out. Nothing was sent; the caller may retry later."""


class ProducerClosedError(ProducerError):
    """The producer is closed (or closing) and takes no more messages."""


class UndeliveredError(ProducerError):
    """The message was purged before it was acknowledged: ``close()`` ran out of time,
    or the transaction it belonged to was aborted before it was sent.

    ``in_flight`` says whether the message had been sent to a broker: if it had, it may
    or may not have been written; if not, it certainly was not.
    """

    def __init__(self, message: str, *, in_flight: bool) -> None:
        super().__init__(message)
        self.in_flight = in_flight


class KafkaProducerError(ProducerError):
    """An error reported by Kafka or librdkafka, for one message or for the producer.

    ``topic`` and ``partition`` name the message's destination when the error is about
    one message (``partition`` is -1 when no partition had been chosen).
    """

    def __init__(
        self, kafka_error: KafkaError, *, topic: str | None = None, partition: int | None = None
    ) -> None:
        where = "" if topic is None else f"{topic}[{partition}]: "
        super().__init__(f"{where}{kafka_error.str()} ({kafka_error.name()})")
        self.kafka_error = kafka_error
        self.topic = topic
        self.partition = partition

    @property
    def code(self) -> int:
        return int(self.kafka_error.code())


class RetriableProducerError(KafkaProducerError):
    """A transient failure: the same message sent again may succeed."""


class PermanentProducerError(KafkaProducerError):
    """This message cannot be delivered as it is (unknown topic or partition, too large,
    invalid record, not authorised): sending it again will fail the same way."""


class TransactionAbortRequiredError(KafkaProducerError):
    """The current transaction failed and must be aborted; the producer stays usable."""


class FatalProducerError(KafkaProducerError):
    """The producer is unusable: every later call fails. Close it and make a new one."""


class ProducerFencedError(FatalProducerError):
    """Another producer with the same ``transactional.id`` (or a newer producer epoch)
    took over: this one must stop, and whatever it had not committed is not its to
    commit."""


def classify(
    error: KafkaError, *, topic: str | None = None, partition: int | None = None
) -> KafkaProducerError:
    """The :class:`KafkaProducerError` subclass that says what ``error`` lets the caller do.

    Fencing is checked first (a fenced producer is also fatal), then librdkafka's own
    flags, then the delivery codes known to be transient.
    """
    code = error.code()
    if code in FENCED_CODES:
        return ProducerFencedError(error, topic=topic, partition=partition)
    if error.fatal() or code == KafkaError._FATAL:
        return FatalProducerError(error, topic=topic, partition=partition)
    if error.txn_requires_abort():
        return TransactionAbortRequiredError(error, topic=topic, partition=partition)
    if error.retriable() or code in RETRIABLE_DELIVERY_CODES:
        return RetriableProducerError(error, topic=topic, partition=partition)
    return PermanentProducerError(error, topic=topic, partition=partition)
