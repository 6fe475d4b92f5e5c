"""`turnout agent run` runs processors: outputs reach the topic the deployment maps for the
colour's role, at least once across a SIGKILL, never to production's from a preview colour."""

from __future__ import annotations

import signal
import subprocess
from collections import defaultdict
from collections.abc import Callable

from confluent_kafka import Consumer, Producer, TopicPartition

from tests.integration.agent.test_cli_processing import _agent, _records_in, _stop
from tests.support.agent_kit import World, wait_until
from tests.support.kafka_records import read_all
from turnout.protocol import Binding, Colour, Role
from turnout.protocol.processing import ProcessingSettings


def _settings(live: str, preview: str) -> ProcessingSettings:
    return ProcessingSettings.model_validate(
        {
            "version": 2,
            "ordering": "key",
            "workers": 4,
            "outputs": {"enriched": {"live": live, "preview": preview}},
        }
    )


def _processor_agent(world: World, colour: str, instance: str) -> subprocess.Popen[str]:
    return _agent(world, "tests.support.agent_handlers:enrich", colour=colour, instance=instance)


def _produce_keyed(world: World, count: int) -> None:
    producer = Producer({"bootstrap.servers": world.kafka})
    for i in range(count):
        producer.produce(world.topic, key=f"k{i % 7}".encode(), value=f"r{i}".encode())
    assert producer.flush(10) == 0


def _per_key(world: World, topic: str, expected: int) -> dict[bytes, list[int]]:
    """Each key's input numbers, in the order their outputs appear in ``topic``."""
    found: dict[bytes, list[int]] = defaultdict(list)
    for message in read_all(world.kafka, topic, expected=expected, timeout_s=60):
        value = message.value() or b""
        assert value.endswith(b"|enriched"), value
        key = message.key()
        assert key is not None
        found[key].append(int(value.removesuffix(b"|enriched").removeprefix(b"r")))
    return found


def test_a_live_processors_outputs_reach_the_live_topic_once_each_in_key_order(
    make_world: Callable[..., World], topic_factory: Callable[..., str]
) -> None:
    world = make_world(partitions=3)
    live, preview = topic_factory(2), topic_factory(2)
    world.create_directive(processing=_settings(live, preview))
    process = _processor_agent(world, "blue", "proc-1")
    try:
        wait_until(lambda: world.all_owned({"proc-1"}), 30, "the processor owns everything")
        _produce_keyed(world, 300)
        wait_until(lambda: _records_in(world.kafka, live) >= 300, 60, "300 outputs")
    finally:
        _stop(process)
    per_key = _per_key(world, live, expected=300)
    assert sorted(n for numbers in per_key.values() for n in numbers) == list(range(300))
    for numbers in per_key.values():
        assert numbers == sorted(numbers)  # per-key order kept from input to output
    assert _records_in(world.kafka, preview) == 0


def test_a_preview_colours_outputs_land_only_in_the_preview_topics(
    make_world: Callable[..., World],
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    world = make_world(partitions=2)
    live, preview = topic_factory(2), topic_factory(2)
    world.create_directive(
        processing=_settings(live, preview),
        preview=Binding(group=unique("preview"), topics=(world.topic,)),
        roles={Colour.BLUE: Role.LIVE, Colour.GREEN: Role.PREVIEW},
    )
    process = _processor_agent(world, "green", "preview-1")
    try:
        wait_until(
            lambda: (s := world.instance_status("preview-1")) is not None and len(s.owned) == 2,
            30,
            "the preview colour owns the preview binding's partitions",
        )
        _produce_keyed(world, 100)
        wait_until(lambda: _records_in(world.kafka, preview) >= 100, 60, "100 preview outputs")
    finally:
        _stop(process)
    assert _records_in(world.kafka, live) == 0  # production's topic untouched
    per_key = _per_key(world, preview, expected=100)
    assert sorted(n for numbers in per_key.values() for n in numbers) == list(range(100))


def test_at_least_once_a_sigkill_mid_stream_loses_no_input_s_output(
    make_world: Callable[..., World], topic_factory: Callable[..., str]
) -> None:
    world = make_world(partitions=2)
    live, preview = topic_factory(2), topic_factory(2)
    world.create_directive(processing=_settings(live, preview))
    first = _processor_agent(world, "blue", "proc-1")
    try:
        wait_until(lambda: world.all_owned({"proc-1"}), 30, "the first processor owns all")
        _produce_keyed(world, 3000)
        wait_until(lambda: _records_in(world.kafka, live) >= 200, 60, "the first is writing")
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    second = _processor_agent(world, "blue", "proc-2")
    try:
        wait_until(lambda: world.all_owned({"proc-2"}), 60, "the second processor took over")
        # Outputs of inputs the first wrote but did not commit are written again, so the
        # count passes 3000 before the last input is in: wait for the last one of each
        # partition to be committed instead (its outputs were acknowledged before that).
        wait_until(lambda: _committed_all(world), 90, "every input committed")
    finally:
        _stop(second)
    outputs = _records_in(world.kafka, live)
    per_key = _per_key(world, live, expected=outputs)
    assert {n for numbers in per_key.values() for n in numbers} == set(range(3000))


def _committed_all(world: World) -> bool:
    consumer = Consumer({"bootstrap.servers": world.kafka, "group.id": world.group})
    try:
        tps = [TopicPartition(world.topic, p) for p in range(world.partitions)]
        committed = consumer.committed(tps, timeout=10.0)
        ends = [consumer.get_watermark_offsets(tp, timeout=10.0)[1] for tp in tps]
        return all(c.offset == end for c, end in zip(committed, ends, strict=True))
    finally:
        consumer.close()
