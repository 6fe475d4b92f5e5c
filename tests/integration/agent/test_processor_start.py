"""A processor agent starts under its deployment's processing settings: with a backlog
waiting at its first claim, no record runs under the defaults (which map no outputs, so
every output would be refused and its record fail)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.integration.agent.test_cli_processing import _records_in
from tests.support.agent_handlers import enrich
from tests.support.agent_kit import World, wait_until
from turnout.agent import Agent
from turnout.agent.work import CodePolicy
from turnout.protocol.processing import ProcessingSettings

BACKLOG = 500


def _load_group_coordinator(world: World) -> None:
    """Commit the start of every partition for the agent's group, so that the group's
    coordinator is loaded and the agent's very first claim succeeds (a claim that fails
    and is retried would let the settings apply first by chance)."""
    consumer = Consumer({"bootstrap.servers": world.kafka, "group.id": world.group})
    try:
        tps = [TopicPartition(world.topic, p, 0) for p in range(world.partitions)]
        consumer.commit(offsets=tps, asynchronous=False)
    finally:
        consumer.close()


def _events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [str(getattr(r, "event", "")) for r in caplog.records if hasattr(r, "event")]


def test_a_processor_with_a_backlog_runs_its_first_record_under_the_deployments_settings(
    make_world: Callable[..., World],
    topic_factory: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = make_world(partitions=4)
    live, preview = topic_factory(2), topic_factory(2)
    world.create_directive(
        processing=ProcessingSettings.model_validate(
            {
                "version": 3,
                "ordering": "partition",
                "workers": 2,
                "outputs": {"enriched": {"live": live, "preview": preview}},
            }
        )
    )
    producer = Producer({"bootstrap.servers": world.kafka})
    for i in range(BACKLOG):
        producer.produce(world.topic, key=f"k{i % 5}".encode(), value=f"r{i}".encode())
    assert producer.flush(10) == 0
    _load_group_coordinator(world)
    caplog.set_level(logging.INFO, logger="turnout.agent")
    agent = Agent(world.config("proc-1"), enrich, code_policy=CodePolicy(processor=True)).start()
    try:
        wait_until(lambda: _records_in(world.kafka, live) >= BACKLOG, 60, "the backlog's outputs")
        registry = agent.metrics.registry
        failed = registry.get_sample_value(
            "turnout_work_failed_attempts_total", {"topic": world.topic}
        )
        assert failed in (None, 0.0)  # no output refused, so no attempt failed
        assert agent.metrics.snapshot()["settings_applied"] == 1
        assert agent.status().processing_version == 3
    finally:
        agent.stop()
    events = _events(caplog)
    # The settings were applied before the first partition was claimed: no record ever
    # reached the work manager built for the code's defaults.
    assert "settings_applied" in events and "claimed" in events, events
    assert events.index("settings_applied") < events.index("claimed"), events
    assert _records_in(world.kafka, live) == BACKLOG  # nothing retried, nothing written twice
