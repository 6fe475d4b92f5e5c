"""A switch whose drain times out while the old owner's exactly-once run is still in its
transaction (a processor slower than ``drain_timeout_ms``): the old owner's transaction
is fenced by the new owner's ``init_transactions``, never committed; the new owner
processes from the committed offset; a ``read_committed`` reader finds every input's
output exactly once, in per-key order."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.integration.agent.test_exactly_once_processors import _parse, _warm_transactions
from tests.integration.agent.test_processor_dead_letters import all_committed
from tests.support.agent_handlers import SLOWER_THAN_DRAIN_S, enrich_slower_than_drain
from tests.support.agent_kit import World, wait_until
from turnout.agent import Agent
from turnout.agent.work import CodePolicy
from turnout.producer import Producer, ProducerConfig
from turnout.protocol import Colour, Role
from turnout.protocol.processing import ProcessingSettings
from turnout.verify import judge_outputs, read_outputs

#: Far shorter than ``SLOWER_THAN_DRAIN_S``: the release gives up on the run in flight.
DRAIN_TIMEOUT_MS = 200
#: Inputs per input partition (4 partitions): a few records' time of work per colour.
INPUTS_PER_PARTITION = 4
PARTITIONS = 4


def test_a_drain_that_times_out_mid_transaction_leaves_the_old_transaction_uncommitted(
    make_world: Callable[..., World], topic_factory: Callable[..., str]
) -> None:
    world = make_world(partitions=PARTITIONS)
    _warm_transactions(world.kafka)
    live, preview = topic_factory(4), topic_factory(4)
    settings = {
        "version": 2,
        "ordering": "partition",
        "workers": PARTITIONS,
        "guarantee": "exactly_once",
        "outputs": {"enriched": {"live": live, "preview": preview}},
    }
    world.create_directive(
        processing=ProcessingSettings.model_validate(settings),
        drain_timeout_ms=DRAIN_TIMEOUT_MS,
    )
    inputs = INPUTS_PER_PARTITION * PARTITIONS
    producer: Producer[bytes, bytes] = Producer(ProducerConfig(bootstrap_servers=world.kafka))
    for i in range(inputs):
        producer.produce(world.topic, f"v-{i}".encode(), f"k{i}".encode(), partition=i % 4)
    producer.close(10.0)
    policy = CodePolicy(processor=True)
    blue = Agent(world.config("blue-1"), enrich_slower_than_drain, code_policy=policy).start()
    green = Agent(
        world.config("green-1", Colour.GREEN), enrich_slower_than_drain, code_policy=policy
    ).start()
    try:
        wait_until(lambda: world.all_owned({"blue-1"}), 30, "blue owns everything")
        # Into blue's second record of each partition: its first is committed, and its
        # run is in a transaction that cannot end within the drain timeout.
        time.sleep(SLOWER_THAN_DRAIN_S * 1.5)
        switched = world.update_directive(
            roles={Colour.GREEN: Role.LIVE, Colour.BLUE: Role.STANDBY}
        )
        wait_until(
            lambda: world.all_owned({"green-1"}, epoch=switched.directive.epoch),
            30,
            "green owns everything",
        )
        wait_until(
            lambda: all_committed(world),
            inputs * SLOWER_THAN_DRAIN_S + 30,
            "green processed the rest from the committed offsets",
        )
        # Blue's runs outlived their release; the new owner's init_transactions fenced
        # their transactions (blue's commit, a record's time later, came after it).
        fenced = blue.metrics.registry.get_sample_value(
            "turnout_processor_transactions_fenced_total"
        )
    finally:
        green.stop()
        blue.stop()
    assert fenced is not None and fenced >= 1, fenced
    report = judge_outputs(range(inputs), read_outputs(world.kafka, live, _parse))
    assert report.ok, report
