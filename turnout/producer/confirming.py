"""A producer its one writer confirms by flushing: :class:`ConfirmingProducer`.

A writer that waits for every record it wrote before it writes more (the at-least-once
processor runner: a call returns only once its outputs are acknowledged) needs no report
per record. It produces its records, then :meth:`ConfirmingProducer.confirm` waits until
the producer holds nothing (librdkafka's flush) and learns of failures only: librdkafka
calls back into Python for a record that failed (``delivery.report.only.error``), not
once per record written. That spares each record a ``Message`` object and a Python call
(about a tenth of a processor's CPU per record; docs/performance.md, "Session 16").

The flush waits for everything the producer holds, so it confirms one writer's records
only if the producer has one writer, who confirms before writing more: give each writer
its own (the runner keeps one per call in flight). A record that asks for its own report
(``send``, ``on_delivery``, ``produce_reported``, ``produce_writes`` with a report) is
refused: its success would never be reported.

States of a writer's records::

    written ──confirm(timeout): the producer emptied, none failed──▶ confirmed: counted
        acknowledged (``turnout_producer_acked_total``), confirm returns 0
    written ──confirm: the producer emptied, some failed──▶ confirm raises the first
        failure (every failure counted in ``turnout_producer_failed_total``)
    written ──confirm: timeout──▶ confirm returns how many are outstanding; they stay
        queued (librdkafka retries them up to the delivery timeout) and the next confirm
        waits for them too

No background poller serves this producer: what librdkafka queues for Python (failure
reports, errors) is served by its own calls (``confirm``, and a produce that waits for
queue space). Delivery latency is not sampled (no report carries it).
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, Message
from prometheus_client import CollectorRegistry

from turnout.producer.config import ProducerConfig
from turnout.producer.errors import ProducerError
from turnout.producer.failure_reports import FailureReportsProducer
from turnout.producer.producer import K, V
from turnout.producer.serializers import Serializer


class ConfirmingProducer(FailureReportsProducer[K, V]):
    """A :class:`Producer` confirmed by :meth:`confirm` (see the module docstring)."""

    failure_reports_only = True

    def __init__(
        self,
        config: ProducerConfig,
        *,
        key_serializer: Serializer[K] | None = None,
        value_serializer: Serializer[V] | None = None,
        registry: CollectorRegistry | None = None,
        name: str | None = None,
    ) -> None:
        #: Failures reported since the last confirm, oldest first.
        self._failures: list[ProducerError] = []
        super().__init__(
            config,
            key_serializer=key_serializer,
            value_serializer=value_serializer,
            registry=registry,
            name=name,
        )

    def _librdkafka_config(self) -> dict[str, Any]:
        return {
            **super()._librdkafka_config(),
            "on_delivery": self._on_failure_report,
        }

    def _on_failure_report(self, error: KafkaError | None, message: Message) -> None:
        """librdkafka's report of a record that failed (no other comes): counted, kept
        for the next confirm. Served while the serving turn is held."""
        if error is not None:
            self._failures.append(self._reports.failure(error, message))

    def confirm(self, timeout_s: float) -> int:
        """Wait up to ``timeout_s`` until every record written so far is acknowledged or
        failed. Returns how many are still outstanding (0: all acknowledged); raises the
        first failure reported since the last confirm (``ProducerError``), or the fatal
        error of a producer that failed for good."""
        if self._unusable:
            raise self._unusable_error()
        with self._server.turn():
            outstanding = self._flush(timeout_s)
            failures, self._failures = self._failures, []
            if not outstanding:
                # Emptied: each record written is acknowledged or failed, and each failure
                # was counted by its report. The counts' one writer holds the turn.
                self.stats.acked += self._written - len(failures)
                self._written = 0
            else:
                self._written -= len(failures)
        if failures:
            raise failures[0]
        if self._reports.fatal is not None:
            raise self._reports.fatal_error()
        return outstanding
