"""An agent whose Kafka consumer is cut off from a cluster that is still there renews
it (``turnout.agent.coordination.source_health``) and loses and repeats nothing.

The cut-off itself cannot be caused on demand: it was a librdkafka consumer that, after
its broker's controller stalled, failed every metadata request and fetched nothing for
minutes while new clients reached the broker at once. ``CutOffSource`` is a real
consumer that behaves so from ``cut`` on; ZooKeeper, Kafka, the release's commit, the
new consumer and the claims are all real.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from confluent_kafka import KafkaError, KafkaException, Message

from tests.support.agent_kit import World
from tests.support.waiting import wait_until
from turnout.agent import AgentConfig
from turnout.agent.coordination.reconciler import METADATA_POLL_INTERVAL_S
from turnout.agent.coordination.source_health import RENEW_AFTER_FAILURES
from turnout.agent.environment import AgentEnvironment, kafka_source
from turnout.agent.kafka_source import POLL_BATCH, KafkaSource

#: The failures that lead to a renewal come one metadata read apart (each failing at
#: once here); then the release, the new consumer and the claims, with a loaded
#: machine's slack.
RENEWED_WITHIN_S = METADATA_POLL_INTERVAL_S * (RENEW_AFTER_FAILURES + 1) + 15.0


class CutOffSource(KafkaSource):
    """A real consumer that, once ``cut`` is set, fails every metadata read with the
    transport error seen and fetches nothing; everything else still works."""

    cut = threading.Event()

    def partition_counts(
        self, topics: Sequence[str], pattern: Callable[[str], bool] | None = None
    ) -> dict[str, int]:
        if self.cut.is_set():
            raise KafkaException(KafkaError(KafkaError._TRANSPORT))
        return super().partition_counts(topics, pattern)

    def poll(self, timeout_s: float, max_records: int = POLL_BATCH) -> list[Message]:
        if self.cut.is_set():
            time.sleep(timeout_s)
            return []
        return super().poll(timeout_s, max_records)


def test_a_consumer_cut_off_from_its_cluster_is_renewed_and_nothing_is_lost_or_repeated(
    make_world: Callable[..., World],
) -> None:
    world = make_world(partitions=4)
    world.create_directive()
    cut = threading.Event()
    built: list[KafkaSource] = []

    def new_source(config: AgentConfig, group: str) -> KafkaSource:
        if built:
            source = kafka_source(config, group)
        else:
            source = first = kafka_source(config, group, CutOffSource)
            first.cut = cut
        built.append(source)
        return source

    agent = world.start_agent("a", environment=AgentEnvironment(new_source=new_source))
    wait_until(lambda: world.all_owned({"a"}), 30, "a owns everything")
    load = world.producer()
    wait_until(lambda: world.processed_count() > 300, 30, "records processed")
    cut.set()
    cut_at = world.processed_count()

    def renewed() -> bool:
        return agent.status().counters["consumer_renewals"] == 1

    wait_until(renewed, RENEWED_WITHIN_S, "the consumer renewed")
    wait_until(lambda: world.all_owned({"a"}), 30, "a owns everything again")
    wait_until(lambda: world.processed_count() > cut_at + 300, 30, "records processed again")
    acked = load.stop()
    world.wait_drained(acked)
    agent.stop()

    assert len(built) == 2
    errors = agent.status().errors
    assert any("renewing it" in error for error in errors), errors
    report = world.check(planned_only=True)
    assert report.ok, report.to_dict()
    assert report.lost.count == 0
    assert report.duplicates.extra_copies == 0
