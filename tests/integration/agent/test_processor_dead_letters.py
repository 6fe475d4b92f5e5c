"""Dead letters of processors under both guarantees: an input the processor always
refuses goes, once its retries are used up, to the dead-letter topic exactly once with
the dead-letter headers (read with ``read_committed``); every other input's output is in
the output topic exactly once; and the committed offsets move past the refused inputs.
Under ``exactly_once`` the refused inputs' partial outputs are never committed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition

from tests.integration.agent.test_exactly_once_processors import (
    _committed_and_ends,
    _parse,
    _warm_transactions,
)
from tests.support.agent_handlers import enrich_except_sevens
from tests.support.agent_kit import World, wait_until
from turnout.agent import Agent
from turnout.agent.work import CodePolicy
from turnout.agent.work.dead_letters import (
    HEADER_ATTEMPTS,
    HEADER_ERROR_TYPE,
    HEADER_GROUP,
    HEADER_OFFSET,
    HEADER_TOPIC,
)
from turnout.protocol.processing import ProcessingSettings
from turnout.verify import judge_outputs, read_outputs
from turnout.verify.outputs import read_committed_records

INPUTS = 300
#: Attempts per input: the first and one retry.
ATTEMPTS = 2
#: How long the inputs' processing (retries and dead letters included) may take.
PROCESSED_WITHIN_S = 90.0


def _refused(input_id: int) -> bool:
    return input_id % 10 == 7


def _settings(guarantee: str, live: str, preview: str) -> ProcessingSettings:
    return ProcessingSettings.model_validate(
        {
            "version": 2,
            "ordering": "partition",
            "workers": 2,
            "guarantee": guarantee,
            "outputs": {"enriched": {"live": live, "preview": preview}},
            "retries": {"max_retries": ATTEMPTS - 1, "backoff_ms": 10, "jitter_ms": 0},
            # A tenth of the inputs are refused: the guard must let them through.
            "dead_letters": {"enabled": True, "max_ratio": 0.5, "min_samples": 1},
            "on_exhausted": "commit_and_continue",
        }
    )


def _produce_inputs(world: World) -> None:
    producer = Producer({"bootstrap.servers": world.kafka})
    for i in range(INPUTS):
        producer.produce(world.topic, key=f"k{i % 7}".encode(), value=f"v-{i}".encode())
    assert producer.flush(10) == 0


def all_committed(world: World) -> bool:
    """Whether the group's committed offsets reached the end of every input partition
    (False while the group's coordinator is still loading)."""
    try:
        return all(c == end for c, end in _committed_and_ends(world))
    except KafkaException:
        return False


def run_until_committed(
    world: World, handler: Callable[..., object], policy: CodePolicy, metric: str
) -> float | None:
    """Run an agent with ``handler`` until every input is committed, then stop it; the
    value of its work metric ``metric`` for the input topic then (None: never counted)."""
    agent = Agent(world.config("proc-1"), handler, code_policy=policy).start()
    try:
        wait_until(
            lambda: all_committed(world),
            PROCESSED_WITHIN_S,
            lambda: f"offsets past every input: (committed, end) {_committed_and_ends(world)}",
        )
        return agent.metrics.registry.get_sample_value(metric, {"topic": world.topic})
    finally:
        agent.stop()


def _dead_letter(message: Message) -> tuple[int, dict[str, bytes]]:
    """(input id, headers) of one dead letter."""
    value = message.value() or b""
    return int(value.removeprefix(b"v-")), dict(message.headers() or [])


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_refused_inputs_are_dead_lettered_once_and_every_other_output_written_once(
    guarantee: str, make_world: Callable[..., World], topic_factory: Callable[..., str]
) -> None:
    world = make_world(partitions=4)
    if guarantee == "exactly_once":
        _warm_transactions(world.kafka)
    live, preview = topic_factory(4), topic_factory(4)
    world.create_directive(processing=_settings(guarantee, live, preview))
    _produce_inputs(world)
    dead_lettered = run_until_committed(
        world, enrich_except_sevens, CodePolicy(processor=True), "turnout_work_dead_lettered_total"
    )
    refused = [i for i in range(INPUTS) if _refused(i)]
    assert dead_lettered == len(refused)
    outputs = read_outputs(world.kafka, live, _parse)
    report = judge_outputs([i for i in range(INPUTS) if not _refused(i)], outputs)
    assert report.ok, report
    letters = read_committed_records(world.kafka, f"{world.topic}.dlq", _dead_letter)
    assert sorted(i for i, _ in letters) == refused
    for _input_id, headers in letters:
        assert headers[HEADER_TOPIC] == world.topic.encode()
        assert headers[HEADER_GROUP] == world.group.encode()
        assert headers[HEADER_ERROR_TYPE] == b"tests.support.agent_handlers.Refused"
        assert headers[HEADER_ATTEMPTS] == str(ATTEMPTS).encode()
        assert int(headers[HEADER_OFFSET]) >= 0
    if guarantee == "exactly_once":
        # Each letter was its own transaction: its commit marker follows it in the log.
        assert _log_end(world.kafka, f"{world.topic}.dlq") == 2 * len(refused)


def _log_end(kafka: str, topic: str) -> int:
    """The sum of ``topic``'s high watermarks: records and transaction markers."""
    consumer = Consumer({"bootstrap.servers": kafka, "group.id": f"ends-{topic}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10.0).topics[topic].partitions
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10.0)[1]
            for p in partitions
        )
    finally:
        consumer.close()
