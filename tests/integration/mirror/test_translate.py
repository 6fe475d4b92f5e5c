"""`turnout mirror translate` on two real clusters: a target consumer started at a
group's translated offsets reads exactly the records the group had not read (within the
reported bound when the group stopped between two syncs); bad input is one line and
exit code 1."""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition
from typer.testing import CliRunner

from tests.support.agent_kit import World, wait_until
from tests.support.mirror_kit import create_source_topic, produce_keyed, read_topic, record_count
from tests.support.mirror_positions_kit import (
    MIRRORED_TIMEOUT_S,
    RECORDS,
    consume_part,
    mirror_all,
    read_from,
    target_kafka,
    translate_json,
    wait_newest_synced,
)
from tests.support.services import Services, unique_name
from turnout.mirror.cli import app as mirror_app


def test_a_target_consumer_at_the_translated_offsets_reads_exactly_what_the_group_had_not(
    two_clusters: Services, positions_world: World
) -> None:
    """A group that read up to the mirrored head is translated exactly; a group stopped
    between two syncs is translated within its bound and misses nothing."""
    source = positions_world.topic
    target_topic = mirror_all(two_clusters, positions_world)
    wait_newest_synced(two_clusters, source)
    at_head = unique_name("at-head")
    behind = unique_name("behind")
    head = consume_part(two_clusters.kafka, source, at_head, RECORDS)
    part = consume_part(two_clusters.kafka, source, behind, RECORDS // 3)
    produce_keyed(two_clusters.kafka, source, RECORDS, start=RECORDS)
    wait_until(
        lambda: record_count(target_kafka(two_clusters), target_topic) >= 2 * RECORDS,
        MIRRORED_TIMEOUT_S,
        lambda: (
            f"{record_count(target_kafka(two_clusters), target_topic)} of {2 * RECORDS} mirrored"
        ),
    )
    originals = read_topic(two_clusters.kafka, source)

    rows = translate_json(two_clusters, at_head)
    assert {row["partition"]: row["committed"] for row in rows} == head
    assert all(row["target_topic"] == target_topic for row in rows)
    assert all(row["precision"] == "exact" for row in rows), rows
    found = read_from(
        target_kafka(two_clusters),
        target_topic,
        {row["partition"]: row["target_offset"] for row in rows},
    )
    for partition, offset in head.items():
        assert found.get(partition, []) == originals[partition][offset:]

    rows = translate_json(two_clusters, behind)
    assert {row["partition"]: row["committed"] for row in rows} == part
    assert all(row["precision"] in ("exact", "bounded") for row in rows), rows
    found = read_from(
        target_kafka(two_clusters),
        target_topic,
        {row["partition"]: row["target_offset"] for row in rows},
    )
    for row in rows:
        got, unread = (
            found.get(row["partition"], []),
            originals[row["partition"]][row["committed"] :],
        )
        # Nothing the group had not read is missed; what precedes it is what it had read,
        # no more records of it than the bound.
        assert got[len(got) - len(unread) :] == unread
        assert len(got) - len(unread) == row["rereads_at_most"]


def test_translate_refuses_an_unknown_group_a_mirror_without_syncs_and_an_unreachable_cluster(
    two_clusters: Services,
) -> None:
    runner = CliRunner()

    def translate(group: str, deployment: str, source: str) -> tuple[int, str]:
        result = runner.invoke(
            mirror_app,
            [
                "translate",
                "--group",
                group,
                "--deployment",
                deployment,
                "--kafka",
                source,
                "--target-kafka",
                target_kafka(two_clusters),
            ],
        )
        return result.exit_code, result.stderr

    code, err = translate(unique_name("nobody"), "dep", two_clusters.kafka)
    assert code == 1
    assert "has no committed offsets" in err
    assert len(err.strip().splitlines()) == 1

    group = unique_name("readers")
    topic = unique_name("plain")
    create_source_topic(two_clusters.kafka, topic, 1)
    produce_keyed(two_clusters.kafka, topic, 10)
    consumer = Consumer({"bootstrap.servers": two_clusters.kafka, "group.id": group})
    consumer.commit(offsets=[TopicPartition(topic, 0, 5)], asynchronous=False)
    consumer.close()
    code, err = translate(group, unique_name("never-mirrored"), two_clusters.kafka)
    assert code == 1
    assert "has recorded no offset syncs" in err

    code, err = translate(group, "dep", "127.0.0.1:1")
    assert code == 1
    assert "did not answer" in err
