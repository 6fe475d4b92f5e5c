"""The at-least-once runner: an input's handler call returns only once every output it
emitted is acknowledged; a failed or late acknowledgement fails the input."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pytest
from confluent_kafka import KafkaError, Message

from turnout.agent import INPUT_KEY, Output, Outputs, Record
from turnout.agent.processors.at_least_once import AtLeastOnceRunner, OutputsNotAcknowledged
from turnout.agent.processors.emitting import BatchOutputKeyError
from turnout.agent.processors.routing import OutputRoutes
from turnout.producer import DeliveryCountdown, PermanentProducerError, Write
from turnout.producer.reports import ReportCallback
from turnout.protocol import OutputTopics, Role

ROUTES = OutputRoutes({"enriched": OutputTopics(live="out", preview="out.pv")})


class RecordingProducer:
    """Stands in for the producer's batch seam (``CountingProducer``): records what was
    produced, and reports each record to its countdown as told (acknowledged, failed, or
    never)."""

    def __init__(self, settle: str = "ack") -> None:
        self.sent: list[tuple[str, object, object]] = []
        #: (partition, timestamp_ms) of each record, as produced.
        self.placed: list[tuple[int, int]] = []
        self._settle = settle

    def reporting_to(self, countdown: DeliveryCountdown) -> ReportCallback:
        def report(error: object, message: object) -> None:
            if error is None:
                countdown.acknowledged()
            else:
                countdown.failed(PermanentProducerError(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)))

        return cast(ReportCallback, report)

    def produce_writes(self, writes: Sequence[Write], report: ReportCallback | None = None) -> None:
        assert report is not None
        for topic, value, key, partition, timestamp_ms, _headers in writes:
            self.sent.append((topic, value, key))
            self.placed.append((partition, timestamp_ms))
            if self._settle == "ack":
                report(None, cast(Message, None))
            elif self._settle == "fail":
                report(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), cast(Message, None))


def runner(producer: RecordingProducer, role: Role = Role.LIVE, **kw: Any) -> AtLeastOnceRunner:
    def enrich(record: Record, out: Outputs) -> Output:
        out.send("enriched", b"sent:" + (record.value or b""), key=b"fixed")
        return Output("enriched", record.value)

    return AtLeastOnceRunner(cast(Any, enrich), ROUTES, lambda: role, producer, **kw)


def record(key: bytes, value: bytes) -> Record:
    return Record("in", 0, 7, key, value, (), 0, 1)


def test_outputs_go_to_the_roles_topic_keyed_by_the_input_unless_given() -> None:
    producer = RecordingProducer()
    runner(producer).handle(record(b"k1", b"v"))
    assert producer.sent == [("out", b"sent:v", b"fixed"), ("out", b"v", b"k1")]
    preview = RecordingProducer()
    runner(preview, Role.PREVIEW).handle(record(b"k1", b"v"))
    assert {topic for topic, _, _ in preview.sent} == {"out.pv"}


def test_a_failed_delivery_fails_the_input_with_the_producers_error() -> None:
    with pytest.raises(PermanentProducerError):
        runner(RecordingProducer("fail")).handle(record(b"k", b"v"))


def test_an_unacknowledged_output_fails_the_input_after_the_bound() -> None:
    with pytest.raises(OutputsNotAcknowledged, match="2 of 2 outputs"):
        runner(RecordingProducer("pending"), ack_timeout_s=0.01).handle(record(b"k", b"v"))


def test_a_batch_processors_outputs_must_give_their_key() -> None:
    producer = RecordingProducer()

    def keyed(records: list[Record], out: Outputs) -> list[Output]:
        return [Output("enriched", r.value, key=r.key) for r in records]

    def unkeyed(records: list[Record], out: Outputs) -> list[Output]:
        return [Output("enriched", r.value, key=INPUT_KEY) for r in records]

    batch = [record(b"a", b"1"), record(b"b", b"2")]
    AtLeastOnceRunner(cast(Any, keyed), ROUTES, lambda: Role.LIVE, producer).handle_batch(batch)
    assert producer.sent == [("out", b"1", b"a"), ("out", b"2", b"b")]
    with pytest.raises(BatchOutputKeyError):
        AtLeastOnceRunner(cast(Any, unkeyed), ROUTES, lambda: Role.LIVE, producer).handle_batch(
            batch
        )


def test_without_outputs_nothing_is_sent_and_an_emission_is_refused() -> None:
    from turnout.agent.processors.routing import UnknownOutputError

    bare = AtLeastOnceRunner(
        cast(Any, lambda r, out: Output("enriched", b"v")),
        OutputRoutes({}),
        lambda: Role.LIVE,
        None,
    )
    with pytest.raises(UnknownOutputError):
        bare.handle(record(b"k", b"v"))
    AtLeastOnceRunner(
        cast(Any, lambda r, out: None), OutputRoutes({}), lambda: Role.LIVE, None
    ).handle(record(b"k", b"v"))


def test_an_outputs_partition_and_timestamp_reach_the_producer() -> None:
    producer = RecordingProducer()

    def placed(records: list[Record], out: Outputs) -> list[Output]:
        return [
            Output("enriched", r.value, key=r.key, partition=3, timestamp_ms=1_700_000_000_000)
            for r in records
        ] + [Output("enriched", b"anywhere", key=b"k")]

    AtLeastOnceRunner(cast(Any, placed), ROUTES, lambda: Role.LIVE, producer).handle_batch(
        [record(b"a", b"1")]
    )
    assert producer.placed == [(3, 1_700_000_000_000), (-1, 0)]


class RecordingConfirmedWrites:
    """Stands in for ``ConfirmedWrites`` (the ``ConfirmedOutputs`` seam): records each
    call's writes and its bound, and raises ``failure`` if given."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.calls: list[tuple[list[tuple[str, object, object]], float]] = []
        self._failure = failure

    def write(self, writes: Sequence[Write], timeout_s: float) -> None:
        self.calls.append(([(topic, value, key) for topic, value, key, *_ in writes], timeout_s))
        if self._failure is not None:
            raise self._failure


def confirmed_runner(writes: RecordingConfirmedWrites) -> AtLeastOnceRunner:
    def enrich(record: Record, out: Outputs) -> Output:
        return Output("enriched", record.value)

    return AtLeastOnceRunner(
        cast(Any, enrich), ROUTES, lambda: Role.LIVE, None, ack_timeout_s=5.0, confirmed=writes
    )


def test_with_confirmed_writes_a_calls_outputs_are_written_once_together_within_the_bound() -> None:
    writes = RecordingConfirmedWrites()
    confirmed_runner(writes).handle(record(b"k1", b"v"))
    assert writes.calls == [([("out", b"v", b"k1")], 5.0)]


def test_a_confirmed_writes_failure_fails_the_input() -> None:
    failure = OutputsNotAcknowledged("1 of 1 outputs not acknowledged within 5.0 s")
    with pytest.raises(OutputsNotAcknowledged, match="1 of 1"):
        confirmed_runner(RecordingConfirmedWrites(failure)).handle(record(b"k", b"v"))


def test_an_observer_of_output_offsets_needs_the_reporting_producer() -> None:
    with pytest.raises(ValueError, match="observer needs each output's report"):
        AtLeastOnceRunner(
            cast(Any, print),
            ROUTES,
            lambda: Role.LIVE,
            None,
            observer=cast(Any, object()),
            confirmed=RecordingConfirmedWrites(),
        )
