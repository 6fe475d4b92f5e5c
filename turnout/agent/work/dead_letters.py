"""The built-in dead-letter producer.

A dead letter keeps the record's key, value and headers and adds headers saying where it
came from and why it failed (``HEADER_*``). It counts as sent only when the broker
acknowledged it: the producer uses ``acks=all`` with idempotence, and ``send`` reports
through its callback from the delivery report, never earlier. The work manager completes
the record's offset only then.

States: RUNNING (a poll thread serves delivery reports) -> CLOSED (``close`` flushed what
it could within its timeout; anything unacknowledged is reported failed to its callback).

A dead-letter topic is looked up before its first letter and, if missing, created (unless
``create_topics`` is False): a broker that does not create topics on demand (the default
in production, and in the dev stack) would otherwise fail every letter only after the
producer's message timeout. A topic that cannot be found or created fails the letter.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from turnout.agent.records import Record
from turnout.agent.work.config import DeadLetterConfig

log = logging.getLogger(__name__)

HEADER_TOPIC = "turnout.dlq.original.topic"
HEADER_PARTITION = "turnout.dlq.original.partition"
HEADER_OFFSET = "turnout.dlq.original.offset"
HEADER_TIMESTAMP = "turnout.dlq.original.timestamp"
HEADER_GROUP = "turnout.dlq.group"
HEADER_ERROR_TYPE = "turnout.dlq.error.type"
HEADER_ERROR_MESSAGE = "turnout.dlq.error.message"
HEADER_ATTEMPTS = "turnout.dlq.attempts"

#: How long the poll thread waits for delivery reports per call: short enough that close()
#: is noticed promptly, long enough not to spin.
POLL_INTERVAL_S = 0.1
#: A full local queue drains in milliseconds while the broker is up; waiting this long for
#: room (in POLL_INTERVAL_S steps) is enough, longer means the broker is gone.
QUEUE_FULL_WAIT_S = 5.0
#: Looking a topic up and creating it answer in milliseconds on a healthy broker; past
#: this the letter fails (and the manager holds its record and stops), it does not hang.
ADMIN_TIMEOUT_S = 10.0

#: Called once per ``send`` with None (acknowledged) or the error.
Delivered = Callable[[BaseException | None], None]


class DeadLetterSink(Protocol):
    def send(
        self, record: Record, error: BaseException, attempts: int, on_done: Delivered
    ) -> None: ...

    def close(self, timeout_s: float) -> None: ...


def dead_letter_headers(
    record: Record, group: str, error: BaseException, attempts: int, max_message_bytes: int
) -> list[tuple[str, str | bytes | None]]:
    """The record's own headers, in order, then the dead-letter ones."""
    message = str(error).encode(errors="replace")[:max_message_bytes]
    error_type = f"{type(error).__module__}.{type(error).__qualname__}"
    return [
        *record.headers,
        (HEADER_TOPIC, record.topic.encode()),
        (HEADER_PARTITION, str(record.partition).encode()),
        (HEADER_OFFSET, str(record.offset).encode()),
        (HEADER_TIMESTAMP, str(record.timestamp_ms).encode()),
        (HEADER_GROUP, group.encode()),
        (HEADER_ERROR_TYPE, error_type.encode()),
        (HEADER_ERROR_MESSAGE, message),
        (HEADER_ATTEMPTS, str(attempts).encode()),
    ]


class DeadLetterTopics:
    """Dead-letter topics looked up, and created if missing, before their first letter
    (see the module docstring); shared by every sink that writes dead letters."""

    def __init__(self, admin: AdminClient, create_topics: bool) -> None:
        self._admin = admin
        self._create_topics = create_topics
        #: Dead-letter topics known to exist.
        self._ready: set[str] = set()
        self._ready_lock = threading.Lock()

    def ensure(self, target: str, source: str) -> None:
        """Make sure ``target`` exists (see the module docstring); raises KafkaException."""
        if target in self._ready:
            return
        with self._ready_lock:  # one lookup (and creation) per topic, whatever the workers
            if target in self._ready:
                return
            if not _topic_exists(self._admin, target):
                if not self._create_topics:
                    raise KafkaException(
                        f"dead-letter topic {target!r} does not exist (creating it is off)"
                    )
                source_info = self._admin.list_topics(topic=source, timeout=ADMIN_TIMEOUT_S)
                found = source_info.topics.get(source)
                partitions = len(found.partitions) if found and found.partitions else 1
                future = self._admin.create_topics([NewTopic(target, partitions, -1)])[target]
                try:
                    future.result(ADMIN_TIMEOUT_S)
                except KafkaException as exc:
                    if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                        raise
                log.info("created dead-letter topic %s (%d partitions)", target, partitions)
            self._ready.add(target)


class DeadLetterProducer:
    """``DeadLetterSink`` on a confluent-kafka ``Producer``."""

    def __init__(
        self,
        bootstrap: str,
        group: str,
        topic_template: str = "{topic}.dlq",
        max_error_message_bytes: int = 4096,
        producer_config: Mapping[str, str | int | float | bool] | None = None,
        create_topics: bool = True,
    ) -> None:
        config: dict[str, str | int | float | bool] = {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 5,
        }
        config.update(producer_config or {})
        self._producer = Producer(config)
        # The same settings (security ones included); an admin client is a producer handle.
        self._topics = DeadLetterTopics(AdminClient(config), create_topics)
        self._group = group
        self._template = topic_template
        self._max_message = max_error_message_bytes
        self._closed = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="turnout-dlq-poll", daemon=True)
        self._poller.start()

    @classmethod
    def from_config(
        cls,
        bootstrap: str,
        group: str,
        config: DeadLetterConfig,
        producer_config: Mapping[str, str | int | float | bool] | None = None,
    ) -> DeadLetterProducer:
        """A producer with ``WorkConfig.dead_letter``'s topic template and message cut."""
        return cls(
            bootstrap,
            group,
            config.topic,
            config.max_error_message_bytes,
            producer_config,
            create_topics=config.create_topic,
        )

    def topic_for(self, topic: str) -> str:
        return self._template.format(topic=topic)

    def send(self, record: Record, error: BaseException, attempts: int, on_done: Delivered) -> None:
        headers = dead_letter_headers(record, self._group, error, attempts, self._max_message)

        def report(err: KafkaError | None, _msg: Message) -> None:
            on_done(None if err is None else KafkaException(err))

        target = self.topic_for(record.topic)
        try:
            self._topics.ensure(target, record.topic)
        except KafkaException as exc:
            on_done(exc)
            return

        waited = 0.0
        while True:
            try:
                self._producer.produce(
                    target,
                    value=record.value,
                    key=record.key,
                    headers=headers,
                    on_delivery=report,
                )
                return
            except BufferError as exc:
                if waited >= QUEUE_FULL_WAIT_S or self._closed.is_set():
                    on_done(exc)
                    return
                self._producer.poll(POLL_INTERVAL_S)
                waited += POLL_INTERVAL_S
            except KafkaException as exc:
                on_done(exc)
                return

    def close(self, timeout_s: float) -> None:
        self._closed.set()
        self._poller.join(timeout=POLL_INTERVAL_S * 2)
        remaining = self._producer.flush(timeout_s)
        if remaining:
            log.error("%d dead letters were not acknowledged before close", remaining)
            # Purging fires their delivery reports with an error, so every record waiting on
            # one is accounted for (held, not committed).
            self._producer.purge()
            self._producer.poll(0)

    def _poll(self) -> None:
        while not self._closed.is_set():
            self._producer.poll(POLL_INTERVAL_S)


def _topic_exists(admin: AdminClient, topic: str) -> bool:
    metadata = admin.list_topics(topic=topic, timeout=ADMIN_TIMEOUT_S)
    found = metadata.topics.get(topic)
    if found is None:
        return False
    if found.error is None:
        return True
    if found.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
        return False
    raise KafkaException(found.error)
