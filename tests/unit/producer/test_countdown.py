"""DeliveryCountdown: a batch's delivery reports counted down to one event, acknowledged
and failed alike, with the failures kept for the waiter; and the report callback that
feeds it counts each report in the producer's metrics as an untracked one would."""

from __future__ import annotations

import threading

from confluent_kafka import KafkaError, Message
from hypothesis import given
from hypothesis import strategies as st

from turnout.producer import DeliveryCountdown, PermanentProducerError, UndeliveredError
from turnout.producer.metrics import DeliveryStats
from turnout.producer.reports import ReportReader


def _message() -> Message:
    return Message(topic="out", partition=1, offset=9, timestamp=(1, 1_000), latency=0.002)


def test_an_empty_batch_is_done_at_once() -> None:
    assert DeliveryCountdown(0).wait(0.0)


def test_the_countdown_is_done_only_at_the_last_report() -> None:
    countdown = DeliveryCountdown(3)
    countdown.acknowledged()
    countdown.failed(UndeliveredError("purged", in_flight=False))
    assert not countdown.wait(0.0)
    assert countdown.remaining == 1
    countdown.acknowledged()
    assert countdown.wait(0.0)
    assert countdown.acknowledged_count == 2
    assert [str(e) for e in countdown.failures] == ["purged"]


@given(st.lists(st.booleans(), min_size=1, max_size=50))
def test_every_report_is_counted_once_whatever_the_mix(outcomes: list[bool]) -> None:
    countdown = DeliveryCountdown(len(outcomes))
    for acknowledged in outcomes:
        assert not countdown.wait(0.0)
        if acknowledged:
            countdown.acknowledged()
        else:
            countdown.failed(UndeliveredError("lost", in_flight=True))
    assert countdown.wait(0.0)
    assert countdown.acknowledged_count == sum(outcomes)
    assert len(countdown.failures) == len(outcomes) - sum(outcomes)


def test_a_waiter_in_another_thread_wakes_at_the_last_report() -> None:
    countdown = DeliveryCountdown(2)
    woke = threading.Event()

    def waiter() -> None:
        if countdown.wait(5.0):
            woke.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    countdown.acknowledged()
    assert not woke.wait(0.05)
    countdown.acknowledged()
    thread.join(5.0)
    assert woke.is_set()


def test_the_report_callback_counts_acknowledgements_and_classifies_failures() -> None:
    stats = DeliveryStats(lambda: 0)
    reader = ReportReader("p", stats, lambda: None)
    countdown = DeliveryCountdown(2)
    report = reader.countdown_callback(countdown)
    report(None, _message())
    report(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), _message())
    assert countdown.wait(0.0)
    assert countdown.acknowledged_count == 1
    assert isinstance(countdown.failures[0], PermanentProducerError)
    assert stats.acked == 1
    assert stats.failed == {"MSG_SIZE_TOO_LARGE": 1}
