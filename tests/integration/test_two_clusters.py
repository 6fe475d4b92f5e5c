"""`turnout dev up --clusters 2` runs two separate Kafka clusters: each answers, and a
record produced on one is not on the other."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient

from tests.support.kafka_records import produce, read_all
from tests.support.services import Services, create_topic, unique_name

#: Metadata from a local broker comes back in milliseconds; a loaded machine needs less.
METADATA_TIMEOUT_S = 10.0


def _cluster_id(bootstrap: str) -> str:
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=METADATA_TIMEOUT_S)
    return str(metadata.cluster_id)


def test_a_record_produced_on_one_cluster_is_not_visible_on_the_other(
    two_clusters: Services,
) -> None:
    first, second = two_clusters.kafka, two_clusters.second_kafka
    assert second is not None
    assert two_clusters.stack is not None
    statuses = two_clusters.stack.status()
    assert [(s.name, s.healthy) for s in statuses] == [
        ("zookeeper", True),
        ("kafka", True),
        ("kafka-b", True),
    ]
    assert _cluster_id(first) != _cluster_id(second)

    topic = unique_name("only-on-a")
    create_topic(first, topic)
    create_topic(second, topic)
    produce(first, topic, 3)

    assert [m.value() for m in read_all(first, topic, 3)] == [b"v0", b"v1", b"v2"]
    assert read_all(second, topic, 0, timeout_s=1.0) == []
