"""The producer's counts and their Prometheus export."""

from __future__ import annotations

from contextlib import nullcontext

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from turnout.producer.metrics import DELIVERY_LATENCY_BUCKETS, DeliveryStats, report_to


class Depth:
    """A queue depth the test sets."""

    def __init__(self) -> None:
        self.value = 0

    def __call__(self) -> int:
        return self.value


def test_sent_is_what_was_reported_plus_what_is_still_queued() -> None:
    depth = Depth()
    stats = DeliveryStats(depth)
    depth.value = 3
    assert stats.snapshot().sent == 3
    depth.value = 1
    stats.acked += 1
    stats.record_failure("_MSG_TIMED_OUT")
    assert stats.snapshot().sent == 3
    depth.value = 5
    assert stats.snapshot().sent == 7


def test_sent_never_goes_back() -> None:
    depth = Depth()
    stats = DeliveryStats(depth)
    depth.value = 2  # a refusal under way shows in the depth for a moment
    assert stats.snapshot().sent == 2
    depth.value = 1
    assert stats.snapshot().sent == 2


def test_without_a_quiet_moment_sent_keeps_its_last_consistent_value() -> None:
    depth = Depth()
    quiet = [True]
    stats = DeliveryStats(depth, lambda _wait: nullcontext(quiet[0]))
    depth.value = 4
    assert stats.snapshot().sent == 4
    quiet[0] = False
    depth.value = 9
    assert stats.snapshot().sent == 4
    quiet[0] = True
    assert stats.snapshot().sent == 9


def test_latency_lands_in_the_first_bucket_at_or_above_it() -> None:
    stats = DeliveryStats(lambda: 0)
    stats.observe_latency(0.001)
    stats.observe_latency(0.0011)
    stats.observe_latency(1e6)
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
    orders.acked += 1
    orders.observe_latency(0.004)
    orders.record_failure("_MSG_TIMED_OUT")
    orders.record_rejection("serialization")
    orders.record_queue_full()
    assert sample(registry, "turnout_producer_sent_total", producer="orders") == 9
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


def test_a_scrape_while_a_producer_is_being_built_does_not_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A transactional client takes a while to build; the agent's metrics endpoint may be
    scraped meanwhile, and the producer's collector must not be half there (seen in CI:
    the scrape answered 500)."""
    from confluent_kafka import Producer as KafkaProducer

    from turnout.producer import Producer, ProducerConfig
    from turnout.producer import producer as module

    registry = CollectorRegistry()
    scraped: list[bytes] = []

    def built_while_scraped(config: dict[str, object]) -> KafkaProducer:
        scraped.append(generate_latest(registry))
        return KafkaProducer(config)

    monkeypatch.setattr(module, "KafkaProducer", built_while_scraped)
    producer: Producer[bytes, bytes] = Producer(
        ProducerConfig(bootstrap_servers="127.0.0.1:1"), registry=registry, name="orders"
    )
    try:
        assert len(scraped) == 1
        assert sample(registry, "turnout_producer_queue_messages", producer="orders") == 0
    finally:
        producer.close(0.1)
