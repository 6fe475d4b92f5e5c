"""A typed Kafka producer: ``from turnout.producer import Producer, ProducerConfig``.

Depends on nothing else of Turnout's, so that a service can use it on its own and the
agent can build processors on it. See docs/producer.md.
"""

from turnout.producer.config import ProduceOptions, ProducerConfig, QueueFullPolicy
from turnout.producer.confirming import ConfirmingProducer
from turnout.producer.countdown import CountingProducer, DeliveryCountdown
from turnout.producer.delivery import Delivery, DeliveryCallback, DeliveryFuture, delivered
from turnout.producer.errors import (
    FatalProducerError,
    KafkaProducerError,
    PermanentProducerError,
    ProducerClosedError,
    ProducerError,
    ProducerFencedError,
    QueueFullError,
    RetriableProducerError,
    SerializationError,
    TransactionAbortRequiredError,
    UndeliveredError,
)
from turnout.producer.producer import PARTITION_ANY, CloseReport, Headers, Producer, Write
from turnout.producer.serializers import (
    BytesSerializer,
    JsonSerializer,
    ProtobufSerializer,
    Serializer,
    StrSerializer,
)
from turnout.producer.transactional import TransactionalProducer

__all__ = [
    "PARTITION_ANY",
    "BytesSerializer",
    "CloseReport",
    "ConfirmingProducer",
    "CountingProducer",
    "Delivery",
    "DeliveryCallback",
    "DeliveryCountdown",
    "DeliveryFuture",
    "FatalProducerError",
    "Headers",
    "JsonSerializer",
    "KafkaProducerError",
    "PermanentProducerError",
    "ProduceOptions",
    "Producer",
    "ProducerClosedError",
    "ProducerConfig",
    "ProducerError",
    "ProducerFencedError",
    "ProtobufSerializer",
    "QueueFullError",
    "QueueFullPolicy",
    "RetriableProducerError",
    "SerializationError",
    "Serializer",
    "StrSerializer",
    "TransactionAbortRequiredError",
    "TransactionalProducer",
    "UndeliveredError",
    "Write",
    "delivered",
]
