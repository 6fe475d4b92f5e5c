"""Coroutine processors (``async def``), per record and per batch, under both guarantees:
every input's output is in the output topic exactly once (``read_committed``), in per-key
order, and the committed offsets reach the end of the input."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.integration.agent.test_exactly_once_processors import (
    _parse,
    _warm_transactions,
)
from tests.integration.agent.test_processor_dead_letters import (
    INPUTS,
    _produce_inputs,
    run_until_committed,
)
from tests.support.agent_handlers import enrich_async, enrich_batch_async
from tests.support.agent_kit import World
from turnout.agent.work import CodePolicy
from turnout.protocol.processing import ProcessingSettings
from turnout.verify import judge_outputs, read_outputs


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
@pytest.mark.parametrize("per_batch", [False, True], ids=["per_record", "per_batch"])
def test_a_coroutine_processor_writes_each_inputs_output_once_in_key_order(
    guarantee: str,
    per_batch: bool,
    make_world: Callable[..., World],
    topic_factory: Callable[..., str],
) -> None:
    world = make_world(partitions=4)
    if guarantee == "exactly_once":
        _warm_transactions(world.kafka)
    live, preview = topic_factory(4), topic_factory(4)
    settings = {
        "version": 2,
        "ordering": "partition",
        "workers": 2,
        "guarantee": guarantee,
        "outputs": {"enriched": {"live": live, "preview": preview}},
    }
    world.create_directive(processing=ProcessingSettings.model_validate(settings))
    _produce_inputs(world)
    handler = enrich_batch_async if per_batch else enrich_async
    failed = run_until_committed(
        world,
        handler,
        CodePolicy(processor=True, batch=per_batch),
        "turnout_work_failed_attempts_total",
    )
    assert failed in (None, 0.0)
    report = judge_outputs(range(INPUTS), read_outputs(world.kafka, live, _parse))
    assert report.ok, report
