"""The seam by which code, rather than the deployment's ``outputs`` map, says where a
processor's outputs go: another Kafka cluster, and the routes to its topics.

Without one, a processor's producer writes to the agent's own (source) cluster, to the
topics the deployment's settings map per role. The mirror brings one: its producer is on
the target cluster and its routes name a target topic per source topic
(``turnout.mirror``), and its ``observer`` hears where each run's outputs landed (the
mirror's offset syncs): after the acknowledgements at least once, after the commit of
their transaction exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from confluent_kafka import KafkaError, Message

from turnout.agent.processors.routing import Routes
from turnout.agent.records import Record
from turnout.producer.reports import ReportCallback

#: A target topic and partition.
TargetPartition = tuple[str, int]
#: The lowest and highest offsets acknowledged in one target partition by one call.
OffsetSpan = tuple[int, int]


class WriteObserver(Protocol):
    """Told, after every output of a call was acknowledged, where they landed."""

    def written(
        self, records: Sequence[Record], spans: Mapping[TargetPartition, OffsetSpan]
    ) -> None:
        """``records`` (the call's inputs) had their outputs acknowledged; ``spans``: each
        target partition written to, and the lowest and highest offsets acknowledged in
        it (one producer writes a partition in order, so they are the first and last
        outputs sent to it)."""

    def flush(self, timeout_s: float) -> None:
        """Write out what the observer holds (the processor's handler is closing)."""


@dataclass(frozen=True)
class OutputTarget:
    #: The target cluster's bootstrap servers.
    bootstrap: str
    routes: Routes
    #: librdkafka properties of the producer on the target cluster (its tuning).
    producer_properties: Mapping[str, str] = field(default_factory=dict)
    #: librdkafka properties of every client on the target cluster (its security, say).
    client_properties: Mapping[str, str] = field(default_factory=dict)
    #: Hears where each call's outputs landed: at least once, once they are
    #: acknowledged; exactly once, once their transaction committed (never of an
    #: aborted one).
    observer: WriteObserver | None = None


def noting_offsets(
    report: ReportCallback, spans: dict[TargetPartition, OffsetSpan]
) -> ReportCallback:
    """``report``, first noting an acknowledged record's offset in ``spans``: before the
    report is passed on, so that whoever waits for the reports reads every offset once
    they are all in."""

    def noting(error: KafkaError | None, message: Message) -> None:
        if error is None:
            where = (message.topic() or "", message.partition() or 0)
            offset = message.offset() or 0
            span = spans.get(where)
            spans[where] = (
                (offset, offset) if span is None else (min(span[0], offset), max(span[1], offset))
            )
        report(error, message)

    return noting
