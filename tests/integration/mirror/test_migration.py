"""Cluster migration end to end on two real clusters: a consumer deployment under keyed
load on cluster A, mirrored to B by a running mirror, switched from blue (on A) to green
(on the copies on B) and rolled back: 0 lost, 0 duplicates, per-key order kept, judged
by the history checker over both clusters (``tests.support.migration_kit``)."""

from __future__ import annotations

import json

from tests.support.agent_kit import LoadProducer, wait_until
from tests.support.migration_kit import (
    ALIAS,
    MigrationWorld,
    SourceOffsetsObserver,
    processed_by,
)
from tests.support.mirror_kit import create_source_topic, start_mirror
from turnout.agent import Agent
from turnout.mirror.migration import CATCH_UP_TIMEOUT_S, Migration, migration_environment
from turnout.protocol import Colour, Role
from turnout.protocol.crossing import MirrorSide

SOURCE_PARTITIONS = PARTITIONS = 4
#: Keys of the load: few enough that every key has records on both sides of a switch.
KEYS = 16
#: A switch under a loaded two-core machine: claims wait for the mirror's next sync.
SETTLE_S = 60.0
#: Records each colour processes before the next switch.
RECORDS_PER_TENURE = 300


def _start_colours(
    mw: MigrationWorld, catch_up_timeout_s: float = CATCH_UP_TIMEOUT_S
) -> tuple[Agent, Agent]:
    """Blue on A (knowing the copies, for the rollback) and green on the copies on B."""
    consumer = mw.consumer
    mirror = mw.mirror.paths.deployment
    blue = consumer.start_agent(
        "blue-1",
        Colour.BLUE,
        environment=migration_environment(Migration(mirror, MirrorSide.SOURCE, mw.target)),
    )
    green = consumer.start_agent(
        "green-1",
        Colour.GREEN,
        wrap=mw.in_source_offsets,
        environment=migration_environment(
            Migration(
                mirror, MirrorSide.COPIES, consumer.kafka, catch_up_timeout_s=catch_up_timeout_s
            )
        ),
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


def _blue_under_load(
    mw: MigrationWorld, catch_up_timeout_s: float = CATCH_UP_TIMEOUT_S
) -> tuple[LoadProducer, Agent]:
    """The source topic mirrored, keyed load on it, blue live and processing, green a
    standby on the copies; the load and green."""
    consumer = mw.consumer
    create_source_topic(consumer.kafka, consumer.topic, PARTITIONS)
    mw.start_mirror()
    consumer.create_directive(live=Colour.BLUE)
    load = consumer.producer(keys=KEYS)
    _, green = _start_colours(mw, catch_up_timeout_s)
    wait_until(lambda: consumer.all_owned({"blue-1"}), SETTLE_S, "blue owns everything")
    _processed_more(mw, RECORDS_PER_TENURE)
    return load, green


def _assert_exact(mw: MigrationWorld, load: LoadProducer) -> None:
    """Every record acknowledged on A processed once, in order per key, across both
    clusters, and every record of B a copy in its place."""
    acked = load.stop()
    mw.consumer.wait_drained(acked)
    mw.consumer.stop_all()
    assert mw.identity_errors == []
    report = mw.consumer.check(planned_only=True)
    assert report.ok, json.dumps(report.to_dict(), default=str)
    assert report.acked == acked
    assert report.duplicates.extra_copies == 0


def test_a_consumer_switched_to_the_mirrored_cluster_and_back_loses_and_duplicates_nothing(
    mw: MigrationWorld,
) -> None:
    consumer = mw.consumer
    load, _ = _blue_under_load(mw)

    _switch_to(mw, Colour.GREEN, "green-1")  # A → B
    _processed_more(mw, RECORDS_PER_TENURE)
    _switch_to(mw, Colour.BLUE, "blue-1")  # the rollback, B → A
    on_b = processed_by(consumer)["green-1"]
    _processed_more(mw, RECORDS_PER_TENURE)

    _assert_exact(mw, load)
    assert on_b >= RECORDS_PER_TENURE
    assert processed_by(consumer)["green-1"] == on_b  # nothing on B after the rollback


#: A claim's wait for the mirror in the test: short, so that its refusal shows at once.
TEST_CATCH_UP_TIMEOUT_S = 2.0


def test_a_claim_the_mirror_cannot_cover_is_refused_in_the_status_until_it_caught_up(
    mw: MigrationWorld,
) -> None:
    consumer = mw.consumer
    load, green = _blue_under_load(mw, TEST_CATCH_UP_TIMEOUT_S)
    mw.mirror.agents["mirror-1"].stop(15)  # blue now commits past every copy
    _processed_more(mw, RECORDS_PER_TENURE)

    consumer.update_directive(roles={Colour.GREEN: Role.LIVE, Colour.BLUE: Role.STANDBY})
    wait_until(
        lambda: any("did not copy past" in e for e in green.status().errors),
        SETTLE_S,
        lambda: f"the refusal in green's status: {green.status().errors}",
    )
    assert processed_by(consumer)["green-1"] == 0

    start_mirror(mw.mirror, "mirror-2", mw.target, source_alias=ALIAS, coordinate_headers=True)
    wait_until(
        lambda: consumer.all_owned({"green-1"}),
        SETTLE_S,
        lambda: f"green owns all: {consumer.owner_map()}",
    )
    _processed_more(mw, RECORDS_PER_TENURE)
    _assert_exact(mw, load)
