"""T14, the soak (style_and_reliability.md §2.4): planned switches (T2), SIGKILLed agents
(T4) and ZooKeeper stalls shorter than the fence window (T7), randomly interleaved under a
steady keyed load, then the history checker judges the whole run.

On demand, not in CI (ten minutes by default):

    .venv/bin/pytest tests/soak -s                 # TURNOUT_SOAK_S=600, a random seed
    TURNOUT_SOAK_S=120 TURNOUT_SOAK_SEED=7 .venv/bin/pytest tests/soak -s

Real ZooKeeper (a dedicated server, so it can be frozen), Kafka, the control plane and
agent processes. Prints one JSON object with the per-fault figures.
"""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.controlplane.e2e_kit import (
    PRODUCE_RATE_PER_S,
    KeyedProducer,
    Rig,
    deploy_blue_green,
    rig,
)
from tests.support.agent_kit import FENCE_MARGIN_S, SESSION_TIMEOUT_S
from tests.support.services import Services
from tests.support.waiting import wait_until
from turnout.devstack.standalone import StandaloneZooKeeper

SOAK_S = float(os.environ.get("TURNOUT_SOAK_S", "600"))
SEED = int(os.environ.get("TURNOUT_SOAK_SEED", str(random.SystemRandom().randrange(10**6))))
PARTITIONS = 8
AGENTS_PER_COLOUR = 2
#: A stall must stay inside the fence window (session less margin, 3 s) with room for a
#: heartbeat that was already due: T7 is the blip agents ride out without fencing.
STALL_S = (0.3, 1.5)
#: Quiet time between faults, so each one's effects are seen and some overlap the next.
PAUSE_S = (0.5, 3.0)
#: A killed owner's partitions move once ZooKeeper expires its session (S, plus a tick)
#: and the survivors claim; a loaded box adds seconds.
TAKEOVER_LIMIT_S = SESSION_TIMEOUT_S + 10.0

FAULTS = ("switch", "kill", "stall")


@pytest.fixture
def soak_rig(
    services: Services,
    tmp_path: Path,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
) -> Iterator[tuple[Rig, StandaloneZooKeeper, str]]:
    zookeeper = StandaloneZooKeeper(tmp_path / "zookeeper")
    zookeeper.start()
    digest = f"turnout-controlplane:secret-{os.urandom(4).hex()}"
    try:
        with rig(zookeeper.connect, services.kafka, tmp_path, digest=digest) as built:
            topic = topic_factory(partitions=PARTITIONS)
            deploy_blue_green(built, unique("dep"), unique("group"), [topic], AGENTS_PER_COLOUR)
            yield built, zookeeper, topic
    finally:
        zookeeper.stop()


def owners(built: Rig) -> set[str]:
    return {p["owner_instance"] for p in built.state()["partitions"] if p["owner_instance"]}


def owns_nothing(built: Rig, instance: str) -> Callable[[], bool]:
    return lambda: instance not in owners(built)


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"count": 0, "p50": None, "p99": None, "max": None}
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "p50": round(statistics.median(ordered), 3),
        "p99": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 3),
        "max": round(ordered[-1], 3),
    }


#: Beyond the soak itself: setup, draining and the checker's pass over the history.
SETTLE_ALLOWANCE_S = 300


@pytest.mark.timeout(SOAK_S + SETTLE_ALLOWANCE_S)
def test_switches_crashes_and_zookeeper_stalls_interleaved_lose_nothing(
    soak_rig: tuple[Rig, StandaloneZooKeeper, str],
) -> None:
    built, zookeeper, topic = soak_rig
    rng = random.Random(SEED)
    live = "blue"
    colour_of = {name: name.split("-")[0] for name in built.agents}
    switch_s: list[float] = []
    takeover_s: list[float] = []
    stall_s: list[float] = []
    faults: list[dict[str, Any]] = []
    spawned = 0
    load = KeyedProducer(built.kafka, topic, built.log_dir, PRODUCE_RATE_PER_S).start()
    started = time.monotonic()
    try:
        time.sleep(1.0)
        while time.monotonic() - started < SOAK_S:
            fault = rng.choice(FAULTS)
            at = round(time.monotonic() - started, 1)
            if fault == "switch":
                live = "green" if live == "blue" else "blue"
                began = time.monotonic()
                done = built.wait_switch(built.switch(live)["id"])
                assert done["state"] == "completed", f"{done}{built.outputs()}"
                took = time.monotonic() - began
                switch_s.append(took)
                faults.append({"at_s": at, "fault": "switch", "to": live, "s": round(took, 3)})
            elif fault == "kill":
                victim = rng.choice(
                    sorted(n for n, a in built.agents.items() if a.process.poll() is None)
                )
                colour = colour_of[victim]
                held = victim in owners(built)
                killed_at = time.monotonic()
                built.agents[victim].kill()
                # A replacement under a new name, so the colour keeps its strength.
                spawned += 1
                name = f"{colour}-r{spawned}"
                built.spawn_agent(name, colour)
                colour_of[name] = colour
                wait_until(
                    owns_nothing(built, victim),
                    TAKEOVER_LIMIT_S - (time.monotonic() - killed_at),
                    f"{victim}'s partitions to move",
                    poll_s=0.05,
                )
                took = time.monotonic() - killed_at
                if held:
                    takeover_s.append(took)
                faults.append(
                    {
                        "at_s": at,
                        "fault": "kill",
                        "victim": victim,
                        "owned": held,
                        "s": round(took, 3),
                    }
                )
            else:
                assert zookeeper.pid is not None
                length = rng.uniform(*STALL_S)
                os.kill(zookeeper.pid, signal.SIGSTOP)
                try:
                    time.sleep(length)
                finally:
                    os.kill(zookeeper.pid, signal.SIGCONT)
                stall_s.append(length)
                faults.append({"at_s": at, "fault": "stall", "seconds": round(length, 2)})
            time.sleep(rng.uniform(*PAUSE_S))
        built.wait_owned_by(live)
    finally:
        acked = load.stop()
    built.wait_drained(acked)
    built.stop_agents()
    report = built.check(planned_only=False)
    figures = {
        "test": "T14 soak",
        "seed": SEED,
        "seconds": SOAK_S,
        "session_timeout_s": SESSION_TIMEOUT_S,
        "fence_margin_s": FENCE_MARGIN_S,
        "produce_rate_per_s": PRODUCE_RATE_PER_S,
        "acked": acked,
        "faults": {name: sum(1 for f in faults if f["fault"] == name) for name in FAULTS},
        "switch_s": percentiles(switch_s),
        "takeover_after_sigkill_s": percentiles(takeover_s),
        "stall_s": percentiles(stall_s),
        "lost": report.lost.count,
        "duplicates": report.duplicates.extra_copies,
        "duplicates_after_commit": report.duplicates.after_commit,
        "ok": report.ok,
    }
    print(json.dumps(figures))  # noqa: T201
    (built.log_dir / "soak.json").write_text(json.dumps({**figures, "log": faults}, indent=1))
    # Crashes may duplicate what was not committed yet, never anything committed, and
    # nothing may be lost or owned twice.
    assert report.ok, report.to_dict()
    assert report.lost.count == 0
    assert report.duplicates.after_commit == 0
