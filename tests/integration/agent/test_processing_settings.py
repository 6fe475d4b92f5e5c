"""The deployment's processing settings, written into the directive as the control plane
writes them, drive every agent of both colours live: applied at a safe point without a
restart, or refused visibly when an agent does not know a value."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tests.support.agent_kit import World, wait_until
from turnout.agent import Agent, Handler, Record
from turnout.protocol import Colour, InstanceStatus
from turnout.protocol.processing import ProcessingSettings
from turnout.verify import CheckReport

#: A handler slow enough that one worker is busy most of the time at the test's load, and
#: that key ordering shows its concurrency on a backlog.
WORK_S = 0.002
#: Issue 13's bound for a status change to be seen, with a loaded machine's slack.
PUBLISHED_WITHIN_S = 5.0
KEYS = 64
#: Checks that assume one record of a partition at a time per process (the sequential
#: dispatcher's histories): not faults in ``key`` mode.
PER_PARTITION_SEQUENTIAL = {"gaps", "rewinds"}


class Concurrency:
    """Handler calls running at once in one agent, and the most seen since ``reset``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self.peak = 0

    def wrap(self, handler: Handler) -> Handler:
        def counted(record: Record) -> object:
            with self._lock:
                self._running += 1
                self.peak = max(self.peak, self._running)
            try:
                return handler(record)
            finally:
                with self._lock:
                    self._running -= 1

        return counted

    def reset(self) -> None:
        with self._lock:
            self.peak = self._running


def settings(version: int, **fields: object) -> ProcessingSettings:
    return ProcessingSettings.model_validate({"version": version, **fields})


def runs_version(agent: Agent, version: int) -> bool:
    return agent.status().processing_version == version


def assert_correct_under_key_ordering(report: CheckReport) -> None:
    failures = set(report.failures) - PER_PARTITION_SEQUENTIAL
    assert not failures, report.to_dict()
    assert report.lost.count == 0
    assert report.duplicates.extra_copies == 0, report.duplicates.examples
    assert report.order_violations.count == 0


def test_settings_changed_under_keyed_load_reach_every_instance_without_loss_or_duplicates(
    make_world: Callable[..., World],
) -> None:
    world = make_world(partitions=4)
    world.create_directive(processing=settings(1, ordering="partition", workers=1))
    gauges = {name: Concurrency() for name in ("blue-1", "blue-2")}
    agents = [
        world.start_agent(name, Colour.BLUE, work_s=WORK_S, wrap=gauge.wrap)
        for name, gauge in gauges.items()
    ]
    agents += [world.start_agent(name, Colour.GREEN) for name in ("green-1", "green-2")]
    wait_until(lambda: world.balanced({"blue-1", "blue-2"}), 60, "blue owns everything")
    wait_until(lambda: all(runs_version(a, 1) for a in agents), 30, "every agent runs v1")
    load = world.producer(rate_per_s=200, keys=KEYS)
    try:
        wait_until(lambda: world.processed_count() >= 400, 60, "records under v1")
        load.rate_per_s = 1000  # a backlog, which one worker cannot keep up with
        wait_until(lambda: load.sent >= 1500, 30, "a backlog produced")
        assert max(g.peak for g in gauges.values()) == 1
        for gauge in gauges.values():
            gauge.reset()

        world.update_directive(processing=settings(2, ordering="key", workers=32))
        wait_until(lambda: all(runs_version(a, 2) for a in agents), 30, "every agent runs v2")

        def published(agent: Agent) -> InstanceStatus | None:
            return world.instance_status(agent.config.instance)

        # The published status follows the agent's own within its write cadence (it is
        # written asynchronously, at most every 0.1 s), not in the same instant.
        wait_until(
            lambda: all(
                (shown := published(a)) is not None and shown.processing_version == 2
                for a in agents
            ),
            PUBLISHED_WITHIN_S,
            "every agent's published status shows v2",
        )
        for agent in agents:
            shown = published(agent)
            assert shown is not None and shown.processing_refused is None
        wait_until(lambda: load.sent >= 5000, 30, "more keyed load under v2")
        load.rate_per_s = 200
    finally:
        acked = load.stop()
    world.wait_drained(acked, timeout_s=90)
    assert max(g.peak for g in gauges.values()) >= 4, {n: g.peak for n, g in gauges.items()}
    assert world.all_owned({"blue-1", "blue-2"})  # nobody gave a partition up
    world.stop_all()
    assert_correct_under_key_ordering(world.check(planned_only=True))


def test_an_unknown_ordering_is_refused_visibly_and_the_last_good_settings_keep_running(
    make_world: Callable[..., World],
) -> None:
    world = make_world(partitions=2)
    world.create_directive(processing=settings(1, ordering="key", workers=4))
    agent = world.start_agent("blue-1", Colour.BLUE)
    wait_until(lambda: world.all_owned({"blue-1"}), 60, "blue-1 owns everything")
    wait_until(lambda: runs_version(agent, 1), 30, "v1 applied")

    world.update_directive(processing=settings(2, ordering="by-colour", workers=8))
    wait_until(
        lambda: agent.status().processing_refused is not None, 30, "v2 refused in the status"
    )
    status = agent.status()
    assert status.processing_version == 1
    assert status.processing_refused is not None
    assert "by-colour" in status.processing_refused
    assert status.counters["settings_refused"] == 1
    assert any("processing settings refused" in error for error in status.errors)
    wait_until(
        lambda: (
            (shown := world.instance_status("blue-1")) is not None
            and shown.processing_refused is not None
        ),
        10,
        "the refusal in the status znode",
    )
    load = world.producer(rate_per_s=200)
    try:
        wait_until(lambda: world.processed_count() >= 300, 60, "records processed after v2")
    finally:
        acked = load.stop()
    world.wait_drained(acked)
    assert agent.status().processing_version == 1  # refused once, not retried in a loop
    assert agent.status().counters["settings_refused"] == 1
    world.stop_all()
    assert_correct_under_key_ordering(world.check(planned_only=True))
