"""A record held by ``do_not_commit_and_continue`` under ``exactly_once``: its partition's
committed offset stays at it (no later transaction of the ownership commits past it, and
none of the later records' outputs is committed), while the other partitions go on."""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import Producer

from tests.integration.agent.test_exactly_once_processors import (
    _committed_and_ends,
    _parse,
    _warm_transactions,
)
from tests.support.agent_handlers import enrich_except_sevens
from tests.support.agent_kit import World, wait_until
from turnout.agent import Agent
from turnout.agent.work import CodePolicy
from turnout.protocol.processing import ProcessingSettings
from turnout.verify import judge_outputs, read_outputs

PARTITIONS = 4
#: Inputs ``v-0`` to ``v-39``, input ``i`` on partition ``i % 4``: the refused ones
#: (``enrich_except_sevens``: 7, 17, 27, 37) are on partitions 3 and 1.
INPUTS = 40
#: Where each partition's committed offset must stay: at its first refused input (7 is
#: partition 3's offset 1, 17 partition 1's offset 4), or at its end.
HELD_AT = {0: 10, 1: 4, 2: 10, 3: 1}
#: How long the agent goes on after the unheld partitions are done, in which a later
#: transaction of a held partition would commit past its held record.
SETTLE_S = 3.0


def _settings(live: str, preview: str) -> ProcessingSettings:
    return ProcessingSettings.model_validate(
        {
            "version": 2,
            "ordering": "partition",
            "workers": 2,
            "guarantee": "exactly_once",
            "outputs": {"enriched": {"live": live, "preview": preview}},
            "retries": {"max_retries": 0},
            "on_exhausted": "do_not_commit_and_continue",
        }
    )


def test_a_held_record_keeps_its_partitions_offset_and_later_outputs_uncommitted(
    make_world: Callable[..., World], topic_factory: Callable[..., str]
) -> None:
    world = make_world(partitions=PARTITIONS)
    _warm_transactions(world.kafka)
    live, preview = topic_factory(PARTITIONS), topic_factory(PARTITIONS)
    world.create_directive(processing=_settings(live, preview))
    producer = Producer({"bootstrap.servers": world.kafka})
    for i in range(INPUTS):
        producer.produce(
            world.topic, key=f"k{i}".encode(), value=f"v-{i}".encode(), partition=i % 4
        )
    assert producer.flush(10) == 0
    agent = Agent(
        world.config("proc-1"), enrich_except_sevens, code_policy=CodePolicy(processor=True)
    )
    agent.start()
    try:
        wait_until(
            lambda: [c for c, _ in _committed_and_ends(world)][0::2] == [HELD_AT[0], HELD_AT[2]],
            60,
            lambda: f"partitions 0 and 2 committed: {_committed_and_ends(world)}",
        )
        time.sleep(SETTLE_S)
        committed = [c for c, _ in _committed_and_ends(world)]
    finally:
        agent.stop()
    assert committed == [HELD_AT[p] for p in range(PARTITIONS)]
    committed_inputs = [i for i in range(INPUTS) if i // 4 < HELD_AT[i % 4]]
    report = judge_outputs(committed_inputs, read_outputs(world.kafka, live, _parse))
    assert report.ok, report
