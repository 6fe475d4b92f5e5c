"""ReportReader and TrackedMessage: delivery reports become counts, Deliveries and
errors, and every tracked message is settled exactly once."""

from __future__ import annotations

import logging
from concurrent.futures import Future

import pytest
from confluent_kafka import KafkaError, Message
from hypothesis import given
from hypothesis import strategies as st

from turnout.producer import (
    Delivery,
    FatalProducerError,
    PermanentProducerError,
    ProducerFencedError,
    UndeliveredError,
)
from turnout.producer.delivery import TrackedMessage, resolver
from turnout.producer.metrics import DELIVERY_LATENCY_BUCKETS, DeliveryStats
from turnout.producer.reports import ReportReader


def message(partition: int = 2, offset: int = 41, latency: float = 0.003) -> Message:
    return Message(
        topic="orders", partition=partition, offset=offset, timestamp=(1, 1_000), latency=latency
    )


class Reader:
    def __init__(self, sample_every: int = 1) -> None:
        self.stats = DeliveryStats(lambda: 0)
        self.failures = 0
        self.reader = ReportReader("p", self.stats, self.on_fatal, sample_every)
        self.reader.purge_reason = "producer 'p' closed after 2.5 s"

    def on_fatal(self) -> None:
        self.failures += 1


def test_an_acknowledgement_is_counted_and_read_as_a_delivery() -> None:
    r = Reader()
    delivery = r.reader.read(None, message())
    assert delivery == Delivery("orders", 2, 41, 1_000, 0.003)
    assert delivery.ok
    assert r.stats.acked == 1
    assert r.stats.latency_sum == pytest.approx(0.003)


def test_an_untracked_report_counts_the_same() -> None:
    r = Reader()
    report = r.reader.untracked_callback()
    report(None, message())
    report(KafkaError(KafkaError._MSG_TIMED_OUT), message())
    assert r.stats.acked == 1
    assert r.stats.failed == {"_MSG_TIMED_OUT": 1}
    assert sum(r.stats.latency_counts) == 1


def test_an_untracked_failure_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    r = Reader()
    with caplog.at_level(logging.WARNING, "turnout.producer"):
        r.reader.untracked_callback()(KafkaError(KafkaError._UNKNOWN_PARTITION), message())
    assert "a delivery failed: orders[2]" in caplog.text


def test_a_failure_is_counted_by_name_and_classified() -> None:
    r = Reader()
    delivery = r.reader.read(KafkaError(KafkaError._UNKNOWN_PARTITION), message())
    assert delivery.offset == -1
    assert isinstance(delivery.error, PermanentProducerError)
    assert str(delivery.error).startswith("orders[2]: ")
    assert r.stats.failed == {"_UNKNOWN_PARTITION": 1}
    assert r.stats.acked == 0


@pytest.mark.parametrize(
    ("code", "in_flight"), [(KafkaError._PURGE_QUEUE, False), (KafkaError._PURGE_INFLIGHT, True)]
)
def test_a_message_purged_by_close_is_undelivered(code: int, in_flight: bool) -> None:
    delivery = Reader().reader.read(KafkaError(code), message())
    assert isinstance(delivery.error, UndeliveredError)
    assert delivery.error.in_flight is in_flight
    assert "not acknowledged: producer 'p' closed after 2.5 s" in str(delivery.error)


def test_a_fatal_report_fails_the_producer_once() -> None:
    r = Reader()
    fenced = KafkaError(KafkaError._FENCED, "fenced", fatal=True)
    first = r.reader.read(fenced, message())
    r.reader.on_error(KafkaError(KafkaError._FATAL, "later", fatal=True))
    assert isinstance(first.error, ProducerFencedError)
    assert r.failures == 1
    assert r.reader.fatal is first.error


def test_after_a_fatal_error_purged_messages_report_it() -> None:
    r = Reader()
    r.reader.on_error(KafkaError(KafkaError.INVALID_PRODUCER_EPOCH, "epoch", fatal=True))
    delivery = r.reader.read(KafkaError(KafkaError._PURGE_QUEUE), message())
    assert isinstance(delivery.error, ProducerFencedError)
    assert delivery.error.__cause__ is r.reader.fatal


def test_a_transient_error_callback_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    r = Reader()
    with caplog.at_level(logging.WARNING, "turnout.producer"):
        r.reader.on_error(KafkaError(KafkaError._TRANSPORT, "broker down"))
    assert r.reader.fatal is None
    assert "broker down (_TRANSPORT)" in caplog.text


def test_each_fatal_error_raised_is_a_fresh_exception() -> None:
    r = Reader()
    r.reader.on_error(KafkaError(KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER, "seq", fatal=True))
    first, second = r.reader.fatal_error(), r.reader.fatal_error()
    assert first is not second
    assert type(first) is FatalProducerError


def test_a_tracked_message_is_settled_once_and_then_leaves_the_pending_set() -> None:
    r = Reader()
    pending: set[TrackedMessage] = set()
    seen: list[Delivery] = []
    tracked = TrackedMessage(r.reader.read, pending, "orders", 2, seen.append)
    assert pending == {tracked}
    tracked.report(None, message())
    tracked.abandon(UndeliveredError("closed", in_flight=True))
    assert pending == set()
    assert [d.offset for d in seen] == [41]


def test_an_abandoned_message_fails_with_its_destination() -> None:
    pending: set[TrackedMessage] = set()
    seen: list[Delivery] = []
    tracked = TrackedMessage(Reader().reader.read, pending, "orders", 5, seen.append)
    tracked.abandon(UndeliveredError("closed", in_flight=True))
    assert [(d.topic, d.partition, d.offset, d.ok) for d in seen] == [("orders", 5, -1, False)]


def test_a_raising_callback_is_logged_not_propagated(caplog: pytest.LogCaptureFixture) -> None:
    def broken(_delivery: Delivery) -> None:
        raise RuntimeError("bug in the caller")

    tracked = TrackedMessage(Reader().reader.read, set(), "orders", 2, broken)
    with caplog.at_level(logging.ERROR, "turnout.producer"):
        tracked.report(None, message())
    assert "on_delivery callback for orders[2] raised" in caplog.text


def test_a_resolver_settles_its_future_which_cannot_be_cancelled() -> None:
    future: Future[Delivery] = Future()
    resolve = resolver(future)
    assert not future.cancel()
    resolve(Delivery("orders", 1, 7, 0, None))
    assert future.result(0).offset == 7
    failed: Future[Delivery] = Future()
    resolver(failed)(Delivery("orders", 1, -1, 0, None, UndeliveredError("x", in_flight=False)))
    with pytest.raises(UndeliveredError):
        failed.result(0)


@given(
    st.lists(
        st.one_of(
            st.sampled_from(DELIVERY_LATENCY_BUCKETS),
            st.floats(min_value=0.0, max_value=1_000.0, allow_nan=False),
        ),
        max_size=50,
    )
)
def test_a_report_lands_in_the_bucket_a_bisection_finds(latencies: list[float]) -> None:
    reports, bisected = Reader(), DeliveryStats(lambda: 0)
    report = reports.reader.untracked_callback()
    for latency in latencies:
        reported = message(latency=latency)
        report(None, reported)
        # librdkafka keeps latency in whole microseconds: bisect what it reports.
        bisected.observe_latency(reported.latency() or 0.0)
    assert reports.stats.latency_counts == bisected.latency_counts
    assert reports.stats.latency_sum == pytest.approx(bisected.latency_sum)


def test_the_histogram_samples_the_first_ack_and_one_in_every_n_after() -> None:
    r = Reader(sample_every=4)
    report = r.reader.untracked_callback()
    for i in range(7):
        report(None, message(latency=float(i)))
    for i in range(7, 10):
        r.reader.read(None, message(latency=float(i)))
    assert r.stats.acked == 10
    # The 1st, 5th and 9th acknowledgements, whichever path served them.
    assert sum(r.stats.latency_counts) == 3
    assert r.stats.latency_sum == pytest.approx(0.0 + 4.0 + 8.0)
