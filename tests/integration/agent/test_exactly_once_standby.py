"""A warm standby of an exactly-once processor creates and connects its transactional
producers before the switch (its metrics show them while it is standby), and the switch
that takes them into use still leaves each output exactly once, in per-key order; a
colour that was live before leaves the partitions whose producers it still holds to
their claims."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.integration.agent.test_exactly_once_processors import _eos_world, _judge, _wait_owned
from tests.support.agent_handlers import enrich
from tests.support.agent_kit import DEPLOYMENT, LoadProducer, World, wait_until
from turnout.agent import Agent
from turnout.agent.processors.transactions import transactional_id
from turnout.agent.work import CodePolicy
from turnout.protocol import Colour, Role

RATE_PER_S = 200
KEYS = 11


def _processor(world: World, instance: str, colour: Colour) -> Agent:
    return Agent(
        world.config(instance, colour), enrich, code_policy=CodePolicy(processor=True)
    ).start()


def _producers(agent: Agent) -> set[str]:
    """The producers in the agent's metrics (each is labelled with its name: a
    transactional producer's is its transactional id)."""
    return {
        sample.labels["producer"]
        for family in agent.metrics.registry.collect()
        if family.name == "turnout_producer_acked"
        for sample in family.samples
    }


def test_a_warm_standby_has_its_transactional_producers_before_the_switch(
    make_world: Callable[..., World],
    topic_factory: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    world, live = _eos_world(make_world, topic_factory)
    blue = _processor(world, "blue-1", Colour.BLUE)
    green = _processor(world, "green-1", Colour.GREEN)
    try:
        wait_until(lambda: world.all_owned({"blue-1"}), 30, "blue owns everything")
        expected = {
            transactional_id(DEPLOYMENT, world.group, world.tp(p)) for p in range(world.partitions)
        }
        wait_until(
            lambda: _producers(green) == expected,
            30,
            lambda: f"the standby's producers: {sorted(_producers(green))}",
        )
        # The producers show in the metrics as each is made; the status says ready once
        # the agent thread is done preparing (connecting them) and composes it again.
        wait_until(lambda: bool(green.status().ready), 30, "the standby reports ready")
        load = LoadProducer(world.kafka, world.topic, world.log_dir, RATE_PER_S, keys=KEYS).start()
        time.sleep(1.0)
        switched = world.update_directive(
            roles={Colour.GREEN: Role.LIVE, Colour.BLUE: Role.STANDBY}
        )
        _wait_owned(world, "green-1", switched.directive.epoch)
        time.sleep(1.0)
        # Blue, standby now, still holds the producers of its past ownership: the switch
        # back makes their successors at the claims, and nothing fails preparing.
        back = world.update_directive(roles={Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY})
        _wait_owned(world, "blue-1", back.directive.epoch)
        time.sleep(1.0)
        sent = load.stop()
        _judge(world, live, sent)
        # Green's switch took the prepared producers into use rather than making others.
        assert _producers(green) == expected
        assert _producers(blue) == expected
        assert "preparing the warm standby" not in caplog.text
    finally:
        green.stop()
        blue.stop()
