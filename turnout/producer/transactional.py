"""A transactional producer: records and consumer offsets committed atomically.

States::

    NEW --init_transactions()--> READY --begin_transaction()--> IN_TRANSACTION
    IN_TRANSACTION --commit_transaction()--> READY
    IN_TRANSACTION --abort_transaction()--> READY
    any --fatal error (fenced)--> FAILED --close()--> CLOSED

- ``init_transactions`` registers the ``transactional.id`` with its coordinator and bumps
  its producer epoch: any other producer with the same id is fenced (its next call fails
  with :class:`ProducerFencedError`), and a transaction it left open is finished or
  aborted before this call returns. This is the fencing the processors rely on when a
  partition changes owner outside Kafka's group protocol.
- In a transaction, ``produce``/``send`` work as on any producer. A delivery report
  means the record is written, not committed: ``commit_transaction`` is what makes the
  whole transaction visible to ``read_committed`` readers, atomically with the offsets
  given to ``send_offsets_to_transaction``.
- A call that fails with :class:`TransactionAbortRequiredError` leaves the transaction
  to be aborted; :class:`RetriableProducerError` means the same call may be retried;
  :class:`FatalProducerError` (:class:`ProducerFencedError` among them) fails the
  producer for good (FAILED): only ``close`` is left.

Every call here serves librdkafka's callbacks inside (commit flushes), so it holds the
serving turn for its duration.

Reports of failures only (``failure_reports_only=True``; ``failure_reports``): the
commit is what confirms a transaction's records (it waits for every acknowledgement, and
fails if one failed), so a caller that waits for nothing but the commit loses nothing;
the producer counts a transaction's records as acknowledged when it commits and samples
no delivery latency. With no background poller, a transaction's records fail its commit
anyway, and its transactional calls never wait for a poller's slice (which would
otherwise wake every ``TRANSACTIONAL_POLL_SLICE_S`` per producer).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from confluent_kafka import KafkaException, TopicPartition
from prometheus_client import CollectorRegistry

from turnout.producer.config import ProducerConfig
from turnout.producer.errors import FatalProducerError, classify
from turnout.producer.failure_reports import FailureReportsProducer
from turnout.producer.producer import K, V
from turnout.producer.serializers import Serializer

#: librdkafka's own default: the coordinator aborts a transaction left open this long,
#: which bounds how long a dead producer's transaction blocks read_committed readers.
DEFAULT_TRANSACTION_TIMEOUT_MS = 60_000
#: The first wait before a transactional request is retried, and the most it doubles to.
#: A partition's transactions run back to back, so the next one's ``AddPartitionsToTxn``
#: and ``AddOffsetsToTxn`` often reach the coordinator while it still writes the previous
#: one's markers, and it answers ``CONCURRENT_TRANSACTIONS``. librdkafka's defaults (100 ms
#: doubling to 1 s) then left the partition idle for up to a second per transaction
#: whenever the brokers' disks were busy (docs/performance.md, "Session 14"); the markers
#: take milliseconds, so retrying at this pace costs the coordinator a few requests more.
#: A service's own ``retry.backoff.ms`` and ``retry.backoff.max.ms`` win.
TRANSACTION_RETRY_BACKOFF_MS = 20
TRANSACTION_RETRY_BACKOFF_MAX_MS = 100
#: How long one transactional call may take. init_transactions waits for the
#: coordinator to finish or abort a previous owner's transaction (it writes markers to
#: every partition the transaction touched); commit waits for every record's
#: acknowledgement first. Seconds on a healthy cluster; past this the call fails
#: retriably and may be called again.
TRANSACTION_CALL_TIMEOUT_S = 30.0

#: The idle poller's slice of a transactional producer: each transactional call waits
#: for the slice in progress to end (it serves callbacks itself, and one thread serves
#: at a time), and a transactional producer is idle between its transactions, so its
#: calls (init on a switch's claim, begin, offsets and commit per transaction) would
#: each wait up to ``serving.POLL_SLICE_S``. The price is the idle poller waking this
#: often, which costs less than the busy poller's ``serving.HANDOFF_S`` rounds.
TRANSACTIONAL_POLL_SLICE_S = 0.005

T = TypeVar("T")


class TransactionalProducer(FailureReportsProducer[K, V]):
    """A :class:`Producer` with ``transactional.id`` ``transactional_id``.

    Its metrics label defaults to the transactional id (unique per producer, as the id
    must be). See the module docstring for its states.
    """

    _poll_slice_s = TRANSACTIONAL_POLL_SLICE_S

    def __init__(
        self,
        config: ProducerConfig,
        transactional_id: str,
        *,
        transaction_timeout_ms: int = DEFAULT_TRANSACTION_TIMEOUT_MS,
        key_serializer: Serializer[K] | None = None,
        value_serializer: Serializer[V] | None = None,
        registry: CollectorRegistry | None = None,
        name: str | None = None,
        failure_reports_only: bool = False,
    ) -> None:
        if not transactional_id:
            raise ValueError("transactional_id must not be empty")
        if not config.enable_idempotence:
            raise ValueError("a transactional producer needs enable_idempotence=True")
        if transaction_timeout_ms < 1_000:
            raise ValueError(
                f"transaction_timeout_ms must be >= 1000, got {transaction_timeout_ms}"
            )
        self.transactional_id = transactional_id
        self.transaction_timeout_ms = transaction_timeout_ms
        self.failure_reports_only = failure_reports_only
        super().__init__(
            config,
            key_serializer=key_serializer,
            value_serializer=value_serializer,
            registry=registry,
            name=name if name is not None else transactional_id,
        )

    def _librdkafka_config(self) -> dict[str, Any]:
        """Adds the transactional id and timeout, the retry pace of its coordinator calls
        (unless the service set its own), and caps the delivery timeout at the
        transaction's: librdkafka refuses a record that could outlive its transaction."""
        return {
            "retry.backoff.ms": TRANSACTION_RETRY_BACKOFF_MS,
            "retry.backoff.max.ms": TRANSACTION_RETRY_BACKOFF_MAX_MS,
            **super()._librdkafka_config(),
            "transactional.id": self.transactional_id,
            "transaction.timeout.ms": self.transaction_timeout_ms,
            "message.timeout.ms": min(self.config.delivery_timeout_ms, self.transaction_timeout_ms),
        }

    def init_transactions(self, timeout_s: float = TRANSACTION_CALL_TIMEOUT_S) -> None:
        """Take over ``transactional_id``, fencing its previous producer (see above)."""
        self._transactional(lambda: self._kafka.init_transactions(timeout_s))

    def begin_transaction(self) -> None:
        self._transactional(self._kafka.begin_transaction)
        self._written = 0

    def send_offsets_to_transaction(
        self,
        offsets: Sequence[TopicPartition],
        group_metadata: object,
        timeout_s: float = TRANSACTION_CALL_TIMEOUT_S,
    ) -> None:
        """Commit ``offsets`` (the next offset to read, per partition) for the consumer
        group of ``group_metadata`` (``Consumer.consumer_group_metadata()``, opaque) with
        the current transaction."""
        self._transactional(
            lambda: self._kafka.send_offsets_to_transaction(
                list(offsets), group_metadata, timeout_s
            )
        )

    def commit_transaction(self, timeout_s: float = TRANSACTION_CALL_TIMEOUT_S) -> None:
        """Wait for every record of the transaction, then commit it with its offsets."""
        self._transactional(lambda: self._commit(timeout_s))

    def _commit(self, timeout_s: float) -> None:
        """Commit, holding the turn: the counts' one writer is whoever holds it."""
        self._kafka.commit_transaction(timeout_s)
        if self.failure_reports_only:
            self.stats.acked += self._written
        self._written = 0

    def abort_transaction(self, timeout_s: float = TRANSACTION_CALL_TIMEOUT_S) -> None:
        """Abort the transaction: its records are never visible to read_committed
        readers; those not yet sent are purged (UndeliveredError)."""
        self._reports.purge_reason = f"the transaction of {self.transactional_id!r} was aborted"
        self._transactional(lambda: self._kafka.abort_transaction(timeout_s))

    def _transactional(self, call: Callable[[], T]) -> T:
        if self._unusable:
            raise self._unusable_error()
        with self._server.turn():
            try:
                return call()
            except KafkaException as exc:
                error = classify(exc.args[0])
                if isinstance(error, FatalProducerError):
                    # The error callback, served inside the call, may already have
                    # recorded the underlying cause (a fencing, say): that one wins.
                    self._reports.become_failed(error)
                    raise self._reports.fatal_error() from exc
                raise error from exc
