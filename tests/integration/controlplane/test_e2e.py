"""End to end: real ZooKeeper, Kafka, control-plane process and agent processes.

2 blue + 2 green agents and a producer writing keyed records continuously; switches go
through the REST API; the verify toolkit's checker judges the merged history.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.integration.controlplane.e2e_kit import (
    BLOCKED_WORK_S,
    ENDED,
    PRODUCE_RATE_PER_S,
    KeyedProducer,
    Rig,
    SecuredAccess,
    deploy_blue_green,
    rig,
)
from tests.integration.controlplane.kit import remove_protected_nodes
from tests.support.agent_kit import wait_until
from tests.support.services import Services, create_topic, zk_chroot
from turnout.protocol.kafka_security import load_kafka_security
from turnout.protocol.models import utc_now
from turnout.zk import load_zk_security

PARTITIONS = 8
ROUND_TRIPS = 5
#: Longest the blue agents may stay frozen: their fence trips 3 s (session timeout less
#: fence margin) after the last renewal, which may be up to 0.75 s before the freeze.
FREEZE_S = 1.5
#: The drain bound of the deployment whose owner is killed mid-release: far longer than
#: the test takes to observe the release and kill, so the agent is still waiting for its
#: blocked handler at the kill (it gives a drain up at this deadline).
LONG_DRAIN_TIMEOUT_MS = 120_000
#: An extra blue agent joins a settled deployment and takes its share within this.
JOIN_S = 30.0


@pytest.fixture
def e2e(
    zk_root: str,
    services: Services,
    tmp_path: Path,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
) -> Iterator[tuple[Rig, str]]:
    """A control-plane process with cluster ``local`` and a topic; nothing deployed yet."""
    digest = f"turnout-controlplane:secret-{os.urandom(4).hex()}"
    topic = topic_factory(partitions=PARTITIONS)
    try:
        with rig(zk_root, services.kafka, tmp_path, digest=digest) as built:
            yield built, topic
    finally:
        remove_protected_nodes(zk_root, digest)


@pytest.fixture
def e2e_secured(
    secured: Services, tmp_path: Path, unique: Callable[[str], str]
) -> Iterator[tuple[Rig, str]]:
    """``e2e`` on the session's secured stack: the control plane as ``admin`` (a named
    cluster credentials file), the agents and the producer as ``client``."""
    access = SecuredAccess.of(secured)
    topic = unique("topic")
    admin_kafka = load_kafka_security(access.controlplane_env).client_config()
    create_topic(secured.kafka, topic, PARTITIONS, client_config=admin_kafka)
    admin_zookeeper = load_zk_security(access.controlplane_env)
    with (
        zk_chroot(secured.zookeeper, "t-e2e-secured", security=admin_zookeeper) as root,
        rig(root, secured.kafka, tmp_path, digest=None, access=access) as built,
    ):
        yield built, topic


@pytest.mark.parametrize("stack", ["plain", "secured"])
def test_five_round_trips_under_load_lose_nothing_and_process_nothing_twice(
    stack: str, request: pytest.FixtureRequest, unique: Callable[[str], str]
) -> None:
    built, topic = request.getfixturevalue("e2e" if stack == "plain" else "e2e_secured")
    # On the secured stack the agents' ZooKeeper user is the deployment's own: only it
    # and the control plane may write the deployment's agent directories.
    agents_user = {} if stack == "plain" else {"zookeeper_user": "client"}
    deploy_blue_green(built, unique("dep"), unique("group"), [topic], **agents_user)
    load = KeyedProducer(
        built.kafka,
        topic,
        built.log_dir,
        PRODUCE_RATE_PER_S,
        client_config=built.kafka_client_config(),
    ).start()
    durations: list[float] = []
    try:
        time.sleep(1.0)
        for _ in range(ROUND_TRIPS):
            for colour in ("green", "blue"):
                started = time.monotonic()
                switch = built.switch(colour)
                done = built.wait_switch(switch["id"])
                assert done["state"] == "completed", f"{done}{built.outputs()}"
                durations.append(time.monotonic() - started)
                time.sleep(0.3)  # records flow under the new owner before the next switch
    finally:
        acked = load.stop()
    built.wait_drained(acked)
    built.stop_agents()
    report = built.check(planned_only=True)
    assert report.ok, report.to_dict()
    assert report.acked == acked > 0
    assert report.lost.count == 0
    assert report.duplicates.extra_copies == 0
    assert report.order_violations.count == 0
    assert len(durations) == 2 * ROUND_TRIPS
    print(f"switch seconds: {sorted(round(d, 3) for d in durations)}")  # noqa: T201


def _phase_end(switch: dict[str, object], name: str) -> datetime:
    phases = switch["phases"]
    assert isinstance(phases, list)
    ended = next(phase["ended_at"] for phase in phases if phase["name"] == name)
    assert ended is not None, f"phase {name} has not ended: {switch}"
    return datetime.fromisoformat(ended)


def test_an_owner_sigkilled_while_its_release_is_in_flight_loses_and_duplicates_nothing(
    e2e: tuple[Rig, str], unique: Callable[[str], str]
) -> None:
    """The killed owner is provably mid-release: its handler is stuck on a record, so its
    drain cannot finish; the test sees the switch releasing with that owner as the only
    old-colour owner left (the others have handed over), kills it, and the handover
    then completes only after the kill, when its session expires."""
    built, topic = e2e
    deploy_blue_green(
        built, unique("dep"), unique("group"), [topic], drain_timeout_ms=LONG_DRAIN_TIMEOUT_MS
    )
    stuck = "blue-stuck"
    built.spawn_agent(stuck, "blue", work_s=BLOCKED_WORK_S)
    load = KeyedProducer(built.kafka, topic, built.log_dir, PRODUCE_RATE_PER_S).start()
    try:
        wait_until(
            lambda: any(p["owner_instance"] == stuck for p in built.live_partitions()),
            JOIN_S,
            lambda: f"{stuck} never took a share: {built.live_partitions()}{built.outputs()}",
        )
        time.sleep(1.0)  # records queue up behind the stuck ones
        switch = built.switch("green")

        def only_the_stuck_owner_left() -> bool:
            old = {
                p["owner_instance"] for p in built.live_partitions() if p["owner_colour"] == "blue"
            }
            return old == {stuck}

        wait_until(
            only_the_stuck_owner_left,
            JOIN_S,
            lambda: f"expected only {stuck} to hold blue partitions: {built.live_partitions()}",
        )
        in_flight = built.get_switch(switch["id"])
        assert in_flight["state"] == "releasing", in_flight
        killed_at = utc_now()
        built.agents[stuck].kill()
        done = built.wait_switch(switch["id"], ENDED)
        assert done["state"] == "completed", f"{done}{built.outputs()}"
        assert _phase_end(done, "released") > killed_at, done
        time.sleep(0.5)
    finally:
        acked = load.stop()
    built.wait_drained(acked)
    built.stop_agents()
    report = built.check(planned_only=False)
    # The killed owner finished no record (each of its lanes was stuck on its first), and
    # every other owner drained and committed before handing over: nothing is lost, and
    # nothing is processed twice.
    assert report.ok, report.to_dict()
    assert report.acked == acked > 0
    assert report.lost.count == 0
    assert report.duplicates.extra_copies == 0
    assert report.order_violations.count == 0


def test_control_plane_sigkilled_mid_switch_converges_after_restart(
    e2e: tuple[Rig, str], unique: Callable[[str], str]
) -> None:
    built, topic = e2e
    deploy_blue_green(built, unique("dep"), unique("group"), [topic])
    load = KeyedProducer(built.kafka, topic, built.log_dir, PRODUCE_RATE_PER_S).start()
    try:
        time.sleep(1.0)
        # Live agents can finish a switch before its POST has answered, and then nothing
        # is left to converge. Frozen, the blue agents cannot release until
        # the control plane is gone; FREEZE_S stays well inside their fence timers.
        blue = [built.agents["blue-0"], built.agents["blue-1"]]
        frozen_at = time.monotonic()
        for agent in blue:
            agent.signal(signal.SIGSTOP)
        try:
            switch = built.switch("green")
            built.cp.kill()  # the directive is written; nobody follows the switch now
        finally:
            for agent in blue:
                agent.signal(signal.SIGCONT)
        assert time.monotonic() - frozen_at < FREEZE_S, "froze too long: fences may trip"
        assert switch["state"] in ("directive_written", "releasing", "claiming")
        time.sleep(2.0)  # the agents carry on with the directive; nobody records progress
        built.cp.start()
        done = built.wait_switch(switch["id"])
        assert done["state"] == "completed", f"{done}{built.outputs()}"
        back = built.switch("blue")  # and it is fully operational again
        assert built.wait_switch(back["id"])["state"] == "completed"
    finally:
        acked = load.stop()
    built.wait_drained(acked)
    built.stop_agents()
    report = built.check(planned_only=True)
    assert report.ok, report.to_dict()
    assert report.lost.count == 0 and report.duplicates.extra_copies == 0
