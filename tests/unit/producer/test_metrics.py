"""The producer's counts and their Prometheus export."""

from __future__ import annotations

import threading

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from turnout.producer.metrics import (
    DELIVERY_LATENCY_BUCKETS,
    DeliveryStats,
    TicketCounter,
    report_to,
)


def test_a_ticket_counter_loses_no_bump_across_threads() -> None:
    counter = TicketCounter()

    def bump() -> None:
        for _ in range(20_000):
            next(counter.tickets)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.value() == 80_000


def test_reading_a_ticket_counter_does_not_count() -> None:
    counter = TicketCounter()
    next(counter.tickets)
    assert [counter.value(), counter.value()] == [1, 1]
    next(counter.tickets)
    assert counter.value() == 2


def test_latency_lands_in_the_first_bucket_at_or_above_it() -> None:
    stats = DeliveryStats(lambda: 0)
    stats.record_ack(0.001)
    stats.record_ack(0.0011)
    stats.record_ack(1e6)
    stats.record_ack(None)
    assert stats.acked == 4
    assert stats.latency_counts[0] == 1
    assert stats.latency_counts[1] == 1
    assert stats.latency_counts[len(DELIVERY_LATENCY_BUCKETS)] == 1
    assert sum(stats.latency_counts) == 3


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_the_registry_shows_each_producer_under_its_own_label() -> None:
    registry = CollectorRegistry()
    orders, audit = DeliveryStats(lambda: 7), DeliveryStats(lambda: 0)
    report_to(registry, "orders", orders)
    report_to(registry, "audit", audit)
    next(orders.sent.tickets)
    next(orders.sent.tickets)
    orders.record_ack(0.004)
    orders.record_failure("_MSG_TIMED_OUT")
    orders.record_rejection("serialization")
    orders.record_queue_full()
    assert sample(registry, "turnout_producer_sent_total", producer="orders") == 2
    assert sample(registry, "turnout_producer_sent_total", producer="audit") == 0
    assert sample(registry, "turnout_producer_acked_total", producer="orders") == 1
    assert (
        sample(registry, "turnout_producer_failed_total", producer="orders", error="_MSG_TIMED_OUT")
        == 1
    )
    assert (
        sample(
            registry, "turnout_producer_rejected_total", producer="orders", reason="serialization"
        )
        == 1
    )
    assert sample(registry, "turnout_producer_queue_full_total", producer="orders") == 1
    assert sample(registry, "turnout_producer_queue_messages", producer="orders") == 7
    latency = "turnout_producer_delivery_latency_seconds"
    assert sample(registry, f"{latency}_bucket", producer="orders", le="0.0025") == 0
    assert sample(registry, f"{latency}_bucket", producer="orders", le="0.005") == 1
    assert sample(registry, f"{latency}_bucket", producer="orders", le="+Inf") == 1
    assert sample(registry, f"{latency}_count", producer="orders") == 1
    assert sample(registry, f"{latency}_sum", producer="orders") == pytest.approx(0.004)
    assert b"turnout_producer_sent_total" in generate_latest(registry)


def test_a_name_reports_once_per_registry_until_it_is_withdrawn() -> None:
    registry = CollectorRegistry()
    withdraw = report_to(registry, "orders", DeliveryStats(lambda: 0))
    with pytest.raises(ValueError, match="already reports to this registry"):
        report_to(registry, "orders", DeliveryStats(lambda: 0))
    withdraw()
    assert sample(registry, "turnout_producer_sent_total", producer="orders") is None
    report_to(registry, "orders", DeliveryStats(lambda: 0))
    assert sample(registry, "turnout_producer_sent_total", producer="orders") == 0


def test_the_producer_families_clash_with_a_metric_of_the_same_name() -> None:
    registry = CollectorRegistry()
    report_to(registry, "orders", DeliveryStats(lambda: 0))
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Counter("turnout_producer_sent", "clash", registry=registry)
