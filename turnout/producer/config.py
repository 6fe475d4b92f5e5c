"""The producer's typed configuration: arguments > ``TURNOUT_PRODUCER_*`` environment >
defaults.

The fields below are the settings Turnout has an opinion on; anything else librdkafka
knows goes in ``kafka_properties`` (in the environment, one JSON object:
``TURNOUT_PRODUCER_KAFKA_PROPERTIES='{"compression.type": "lz4"}'``). Fields that map to
a librdkafka property keep librdkafka's unit in their name (``linger_ms``); the
producer's own timeouts are in seconds (``_s``).

How it reaches a secured Kafka is the client seam's (``turnout.protocol.kafka_security``):
``kafka_security``, when not given, is read from the ``TURNOUT_KAFKA_*`` variables and
the env file ``security_env_file`` names (``TURNOUT_PRODUCER_SECURITY_ENV_FILE``; the
environment wins), passwords from the files they name.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BeforeValidator, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from turnout.producer.serializers import Serializer
from turnout.protocol.kafka_security import KafkaSecurity, load_kafka_security

K = TypeVar("K")
V = TypeVar("V")

#: librdkafka's own default: long enough to fill batches under load, short enough that
#: a lone message is not held back noticeably.
DEFAULT_LINGER_MS = 5.0
#: librdkafka's own default queue bound. Every queued message costs its payload plus
#: ~200 bytes of librdkafka bookkeeping, so the default bounds memory to tens of MB for
#: small records; the queue-full policy takes over past it.
DEFAULT_QUEUE_MAX_MESSAGES = 100_000
#: librdkafka's own default byte bound for the queue (1 GiB): the message bound above is
#: the one that bites for small records.
DEFAULT_QUEUE_MAX_KBYTES = 1_048_576
#: How long librdkafka keeps retrying one message before failing its delivery
#: (librdkafka's default, 5 minutes: rides out a broker restart or leader election).
DEFAULT_DELIVERY_TIMEOUT_MS = 300_000
#: How long ``produce`` blocks on a full queue (``block`` policy) before raising
#: QueueFullError. A healthy cluster drains a full queue in well under a second; a queue
#: still full after this long means the cluster is not taking writes, which the caller
#: should learn rather than stall without end.
DEFAULT_QUEUE_FULL_TIMEOUT_S = 30.0
#: How long ``close`` waits for queued messages to be acknowledged before giving up on
#: them (they fail with UndeliveredError): long enough for a leader election, short
#: enough for a process that is shutting down.
DEFAULT_CLOSE_TIMEOUT_S = 30.0

#: The delivery latency histogram observes one acknowledgement in this many. A latency
#: distribution needs samples, not every message, and reading and bucketing a latency is
#: a sizeable share of a delivery report's cost; at the rates where that shows, one in 8
#: is still thousands of samples a second. 1 observes every acknowledgement.
DEFAULT_LATENCY_SAMPLE_EVERY = 8

#: librdkafka properties the producer sets itself (from the typed fields, or because it
#: owns the callbacks), with the field to use instead.
RESERVED_PROPERTIES = {
    "bootstrap.servers": "bootstrap_servers",
    "metadata.broker.list": "bootstrap_servers",
    "client.id": "client_id",
    "acks": "acks",
    "request.required.acks": "acks",
    "enable.idempotence": "enable_idempotence",
    "linger.ms": "linger_ms",
    "queue.buffering.max.ms": "linger_ms",
    "queue.buffering.max.messages": "queue_max_messages",
    "queue.buffering.max.kbytes": "queue_max_kbytes",
    "message.timeout.ms": "delivery_timeout_ms",
    "delivery.timeout.ms": "delivery_timeout_ms",
    "transactional.id": "TransactionalProducer's transactional_id",
    "transaction.timeout.ms": "TransactionalProducer's transaction_timeout_ms",
    "on_delivery": "a per-message on_delivery or send()",
    "dr_cb": "a per-message on_delivery or send()",
    "dr_msg_cb": "a per-message on_delivery or send()",
    "error_cb": "the producer's error state (fatal errors raise)",
    "delivery.report.only.error": "TransactionalProducer's failure_reports_only",
}


def _as_property_text(value: Any) -> Any:
    """librdkafka takes every property as text, booleans as ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


PropertyText = Annotated[str, BeforeValidator(_as_property_text)]


class QueueFullPolicy(StrEnum):
    """What ``produce`` does when the local queue is full."""

    #: Wait for room (delivery reports free it) up to a timeout, then raise QueueFullError.
    BLOCK = "block"
    #: Raise QueueFullError at once.
    RAISE = "raise"


class ProducerConfig(BaseSettings):
    """Everything a :class:`~turnout.producer.Producer` needs; every field has a default."""

    model_config = SettingsConfigDict(env_prefix="TURNOUT_PRODUCER_", extra="forbid", frozen=True)

    #: Kafka bootstrap servers.
    bootstrap_servers: str = "127.0.0.1:9092"
    #: librdkafka's client.id; also the ``producer`` label of the metrics.
    client_id: str = Field(default="turnout-producer", min_length=1)
    #: Idempotence (on by default) keeps retries from duplicating or reordering records
    #: within a partition; it needs ``acks=all``.
    enable_idempotence: bool = True
    acks: Literal["all", "1", "0"] = "all"
    linger_ms: float = Field(default=DEFAULT_LINGER_MS, ge=0.0)
    queue_max_messages: int = Field(default=DEFAULT_QUEUE_MAX_MESSAGES, ge=1)
    queue_max_kbytes: int = Field(default=DEFAULT_QUEUE_MAX_KBYTES, ge=1)
    delivery_timeout_ms: int = Field(default=DEFAULT_DELIVERY_TIMEOUT_MS, ge=1)
    queue_full: QueueFullPolicy = QueueFullPolicy.BLOCK
    queue_full_timeout_s: float = Field(default=DEFAULT_QUEUE_FULL_TIMEOUT_S, gt=0.0)
    close_timeout_s: float = Field(default=DEFAULT_CLOSE_TIMEOUT_S, ge=0.0)
    #: The latency histogram observes one acknowledgement in this many (1: every one).
    latency_sample_every: int = Field(default=DEFAULT_LATENCY_SAMPLE_EVERY, ge=1)
    #: Any other librdkafka producer property, passed through as it is.
    kafka_properties: dict[str, PropertyText] = Field(default_factory=dict)
    #: An env file of ``TURNOUT_KAFKA_*`` lines (``security/client.env`` of the dev stack).
    security_env_file: Path | None = None
    #: Transport and identity of the producer (default: from the environment).
    kafka_security: KafkaSecurity = Field(default_factory=KafkaSecurity)

    @model_validator(mode="before")
    @classmethod
    def _security_from_environment(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kafka_security") is None:
            env_file = data.get("security_env_file")
            return {
                **data,
                "kafka_security": load_kafka_security(Path(env_file) if env_file else None),
            }
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ProducerConfig:
        if self.enable_idempotence and self.acks != "all":
            raise ValueError(
                f"enable_idempotence needs acks='all' (got acks={self.acks!r}); "
                "set enable_idempotence=False to use weaker acknowledgements"
            )
        clashes = sorted(set(self.kafka_properties) & set(RESERVED_PROPERTIES))
        if clashes:
            instead = "; ".join(f"{key}: use {RESERVED_PROPERTIES[key]}" for key in clashes)
            raise ValueError(f"kafka_properties may not set {clashes} ({instead})")
        return self

    def librdkafka_config(self) -> dict[str, Any]:
        """The librdkafka properties this config stands for (callbacks not included; the
        security settings hold the password: never log them)."""
        return {
            **self.kafka_security.client_config(),
            **self.kafka_properties,
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": self.client_id,
            "enable.idempotence": self.enable_idempotence,
            "acks": self.acks,
            "linger.ms": self.linger_ms,
            "queue.buffering.max.messages": self.queue_max_messages,
            "queue.buffering.max.kbytes": self.queue_max_kbytes,
            "message.timeout.ms": self.delivery_timeout_ms,
        }


@dataclass(frozen=True)
class ProduceOptions(Generic[K, V]):
    """Per-call overrides of a producer's own choices; ``None`` keeps the producer's.

    Make one per kind of call and pass it with each (``options=``): one argument checked
    once keeps the per-message path short. (Not slotted: ``ProduceOptions[K, V](...)``
    sets ``__orig_class__``, which a slotted frozen dataclass refuses with a TypeError.)
    """

    key_serializer: Serializer[K] | None = None
    value_serializer: Serializer[V] | None = None
    queue_full: QueueFullPolicy | None = None
    queue_full_timeout_s: float | None = None
