"""Cluster migration end to end on two real clusters: a consumer deployment under keyed
load on cluster A, mirrored to B by a running mirror, switched from blue (on A) to green
(on the copies on B) and rolled back: 0 lost, 0 duplicates, per-key order kept, judged
by the history checker over both clusters (``tests.support.migration_kit``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.agent_kit import wait_until
from tests.support.migration_kit import (
    MigrationWorld,
    SourceOffsetsObserver,
    migration_world,
    processed_by,
)
from tests.support.mirror_kit import create_source_topic
from tests.support.services import Services
from turnout.agent import Agent
from turnout.mirror.migration import Migration, Side, migration_environment
from turnout.protocol import Colour, Role

PARTITIONS = 4
#: Keys of the load: few enough that every key has records on both sides of a switch.
KEYS = 16
#: A switch under a loaded two-core machine: claims wait for the mirror's next sync.
SETTLE_S = 60.0
#: Records each colour processes before the next switch.
RECORDS_PER_TENURE = 300


@pytest.fixture
def mw(
    two_clusters: Services, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[MigrationWorld]:
    with migration_world(two_clusters, request.node.name, tmp_path, PARTITIONS) as w:
        yield w


def _start_colours(mw: MigrationWorld) -> tuple[Agent, Agent]:
    """Blue on A (knowing the copies, for the rollback) and green on the copies on B."""
    consumer = mw.consumer
    mirror = mw.mirror.paths.deployment
    blue = consumer.start_agent(
        "blue-1",
        Colour.BLUE,
        environment=migration_environment(Migration(mirror, Side.SOURCE, mw.target)),
    )
    green = consumer.start_agent(
        "green-1",
        Colour.GREEN,
        wrap=mw.in_source_offsets,
        environment=migration_environment(Migration(mirror, Side.COPIES, consumer.kafka)),
        wrap_observer=SourceOffsetsObserver,
        kafka=mw.target,
    )
    return blue, green


def _switch_to(mw: MigrationWorld, live: Colour, instance: str) -> None:
    other = Colour.GREEN if live is Colour.BLUE else Colour.BLUE
    consumer = mw.consumer
    switched = consumer.update_directive(roles={live: Role.LIVE, other: Role.STANDBY})
    epoch = switched.directive.epoch
    wait_until(
        lambda: consumer.all_owned({instance}, epoch=epoch),
        SETTLE_S,
        lambda: f"{instance} owns every partition at epoch {epoch}: {consumer.owner_map()}",
    )


def _processed_more(mw: MigrationWorld, count: int) -> None:
    target = mw.consumer.processed_count() + count
    wait_until(
        lambda: mw.consumer.processed_count() >= target,
        SETTLE_S,
        lambda: f"{mw.consumer.processed_count()} of {target} records processed",
    )


def test_a_consumer_switched_to_the_mirrored_cluster_and_back_loses_and_duplicates_nothing(
    mw: MigrationWorld,
) -> None:
    consumer = mw.consumer
    create_source_topic(consumer.kafka, consumer.topic, PARTITIONS)
    mw.start_mirror()
    consumer.create_directive(live=Colour.BLUE)
    load = consumer.producer(keys=KEYS)
    _start_colours(mw)
    wait_until(lambda: consumer.all_owned({"blue-1"}), SETTLE_S, "blue owns everything")
    _processed_more(mw, RECORDS_PER_TENURE)

    _switch_to(mw, Colour.GREEN, "green-1")  # A → B
    _processed_more(mw, RECORDS_PER_TENURE)
    _switch_to(mw, Colour.BLUE, "blue-1")  # the rollback, B → A
    on_b = processed_by(consumer)["green-1"]
    _processed_more(mw, RECORDS_PER_TENURE)

    acked = load.stop()
    consumer.wait_drained(acked)
    consumer.stop_all()
    assert mw.identity_errors == []
    report = consumer.check(planned_only=True)
    assert report.ok, report.to_dict()
    assert report.acked == acked
    assert report.duplicates.extra_copies == 0
    assert on_b >= RECORDS_PER_TENURE
    assert processed_by(consumer)["green-1"] == on_b  # nothing on B after the rollback
