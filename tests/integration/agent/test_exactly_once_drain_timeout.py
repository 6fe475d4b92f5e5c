"""A switch whose drain times out while the old owner's exactly-once run is still in its
transaction (a processor slower than ``drain_timeout_ms``): the old owner commits nothing
after the release (its transaction in flight is abandoned by the release, or fenced by
the new owner's ``init_transactions``); the new owner
processes from the committed offset; a ``read_committed`` reader finds every input's
output exactly once, in per-key order."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.integration.agent.test_exactly_once_processors import (
    Processor,
    _parse,
    _warm_transactions,
)
from tests.integration.agent.test_processor_dead_letters import all_committed
from tests.support.agent_handlers import SLOWER_THAN_DRAIN_S
from tests.support.agent_kit import World, wait_until
from turnout.producer import Producer, ProducerConfig
from turnout.protocol import Colour, Role
from turnout.protocol.processing import ProcessingSettings
from turnout.verify import judge_outputs, read_outputs

#: Far shorter than ``SLOWER_THAN_DRAIN_S``: the release gives up on the run in flight.
DRAIN_TIMEOUT_MS = 200
#: Inputs per input partition (4 partitions): a few records' time of work per colour.
INPUTS_PER_PARTITION = 4
PARTITIONS = 4
COMMITTED = "turnout_processor_transactions_committed_total"
ABORTED = "turnout_processor_transactions_aborted_total"
FENCED = "turnout_processor_transactions_fenced_total"


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
    # Processes of their own: in one process the two colours' producers of one
    # transactional id would report to one metrics registry.
    blue = Processor(world, Colour.BLUE, "blue-1", "enrich_slower_than_drain", metrics=True)
    green = Processor(world, Colour.GREEN, "green-1", "enrich_slower_than_drain")
    try:
        wait_until(lambda: world.all_owned({"blue-1"}), 30, "blue owns everything")
        # Blue committed its first record of each partition; its runs are now each in
        # the next record's transaction, which cannot end within the drain timeout.
        wait_until(lambda: blue.metric(COMMITTED) >= PARTITIONS, 30, "blue's first transactions")
        switched = world.update_directive(
            roles={Colour.GREEN: Role.LIVE, Colour.BLUE: Role.STANDBY}
        )
        wait_until(
            lambda: world.all_owned({"green-1"}, epoch=switched.directive.epoch),
            30,
            "green owns everything",
        )
        committed_at_release = blue.metric(COMMITTED)
        wait_until(
            lambda: all_committed(world),
            inputs * SLOWER_THAN_DRAIN_S + 30,
            "green processed the rest from the committed offsets",
        )
        # Blue's runs outlived their release by a record's time: the transactions they
        # were in ended uncommitted (abandoned by the release, or fenced by green).
        time.sleep(SLOWER_THAN_DRAIN_S)
        committed_at_end = blue.metric(COMMITTED)
        dropped = blue.metric(ABORTED) + blue.metric(FENCED)
    finally:
        green.stop()
        blue.stop()
    assert committed_at_end == committed_at_release, blue.output()[-3000:]
    assert dropped >= 1, blue.output()[-3000:]
    report = judge_outputs(range(inputs), read_outputs(world.kafka, live, _parse))
    assert report.ok, report
