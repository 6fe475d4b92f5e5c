"""A producer that may report delivery failures only: :class:`FailureReportsProducer`.

With ``failure_reports_only`` librdkafka calls back into Python only for a record that
failed (``delivery.report.only.error``), not once per record written: something else
confirms the records that succeed (a transaction's commit, a flush;
``TransactionalProducer``, ``ConfirmingProducer``), and counts them as acknowledged from
``_written``, the records produced since it last did. A record that asks for its own
report (``send``, ``on_delivery``, ``produce_reported``, ``produce_writes`` with a
report) is refused: its success would never be reported. Such a producer has no
background poller either: what librdkafka still queues for Python (failure reports,
errors) is served by the producer's own calls (commits, aborts and flushes serve; a
caller waiting for queue space serves).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry

from turnout.producer.config import ProduceOptions, ProducerConfig
from turnout.producer.delivery import DeliveryCallback
from turnout.producer.producer import PARTITION_ANY, Headers, K, Producer, V, Write
from turnout.producer.reports import ReportCallback
from turnout.producer.serializers import Serializer

_NO_SUCCESS_REPORTS = (
    "producer {!r} reports failures only: a record's own delivery report (send, "
    "on_delivery, produce_reported) would never come for a success"
)


class FailureReportsProducer(Producer[K, V]):
    """A :class:`Producer` that reports failures only while ``failure_reports_only``
    (a subclass sets it before this constructor runs: it shapes the client)."""

    failure_reports_only: bool = False

    def __init__(
        self,
        config: ProducerConfig | None = None,
        *,
        key_serializer: Serializer[K] | None = None,
        value_serializer: Serializer[V] | None = None,
        registry: CollectorRegistry | None = None,
        name: str | None = None,
    ) -> None:
        #: Records produced since whoever confirms them last counted them.
        self._written = 0
        super().__init__(
            config,
            key_serializer=key_serializer,
            value_serializer=value_serializer,
            registry=registry,
            name=name,
        )

    def _serves_in_background(self) -> bool:
        return not self.failure_reports_only

    def _librdkafka_config(self) -> dict[str, Any]:
        return {
            **super()._librdkafka_config(),
            "delivery.report.only.error": self.failure_reports_only,
        }

    def _refuse_own_report(self) -> None:
        if self.failure_reports_only:
            raise ValueError(_NO_SUCCESS_REPORTS.format(self.name))

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
        """:meth:`Producer.produce`; with failure reports only, ``on_delivery`` (and so
        ``send``) is refused."""
        if on_delivery is not None:
            self._refuse_own_report()
        super().produce(topic, value, key, partition, timestamp_ms, headers, on_delivery, options)
        self._written += 1

    def produce_writes(self, writes: Sequence[Write], report: ReportCallback | None = None) -> None:
        if report is not None:
            self._refuse_own_report()
        super().produce_writes(writes, report)
        self._written += len(writes)

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
        self._refuse_own_report()
        super().produce_reported(
            topic, value, key, headers, report, partition=partition, timestamp_ms=timestamp_ms
        )
