"""Cluster migration driven by the control plane: a mirror deployment and a consumer
deployment whose green colour names it (`via_mirror`), both created over REST; green's
agent runs on cluster B with `turnout mirror consume`, and a switch from the API moves the
deployment there. Every record of A is processed once across both colours, and the
control plane's live state then reads the live colour's commits and lag on B's copies,
where it consumes.

On two real clusters, a real control plane and ZooKeeper, every part its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.integration.controlplane.kit import (
    cp_settings,
    create_with_cli,
    deployment_body,
    live_state,
    register_cluster,
    start_with_cluster,
    wait_switch,
)
from tests.support.agent_kit import FENCE_MARGIN_S, REPO_ROOT, SESSION_TIMEOUT_S
from tests.support.migration_kit import recorded_positions, source_positions
from tests.support.mirror_kit import create_source_topic, produce_keyed
from tests.support.services import Services
from tests.support.waiting import wait_until
from turnout.controlplane.security import ApiRole

PARTITIONS = 4
#: Records written before the switch (blue processes them on A) and after (green, on B).
RECORDS = 200
#: A mirror copying a few hundred records and a colour claiming across the clusters
#: (waiting for the mirror's offset syncs) take seconds; a loaded two-core machine more.
SETTLE_S = 90.0
#: Agents drain, commit and release on SIGTERM.
STOP_TIMEOUT_S = 60.0


def _spawn(log: Path, *command: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "turnout", *command],
            stdout=sink, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=env,
        )  # fmt: skip


def test_a_switch_from_the_api_moves_a_consumer_to_the_mirrored_cluster_exactly(
    two_clusters: Services, zk_root: str, tmp_path: Path, unique: Callable[[str], str]
) -> None:
    assert two_clusters.second_kafka is not None
    a, b = two_clusters.kafka, two_clusters.second_kafka
    topic = unique("orders")
    create_source_topic(a, topic, PARTITIONS)
    produce_keyed(a, topic, RECORDS)
    files = {"blue": tmp_path / "blue.txt", "green": tmp_path / "green.txt"}
    processes: list[tuple[subprocess.Popen[bytes], Path]] = []

    def logs() -> str:
        return "\n".join(f"== {log.name}\n{log.read_text()[-2000:]}" for _, log in processes)

    with ExitStack() as stack:
        cp = start_with_cluster(cp_settings(f"sqlite:///{tmp_path / 'cp.db'}", zk_root, a), stack)
        name, mirror = unique("billing"), unique("mirror")
        with cp.client() as admin:
            register_cluster(admin, "dr", b, zk_root, "/turnout-dr")
            created = admin.post(
                "/api/v1/deployments",
                json=deployment_body(mirror, unique("copier"), [topic],
                                     mirror={"target_cluster": "dr", "coordinate_headers": True}),
            )  # fmt: skip
            assert created.status_code == 201, created.text
        green = {"version": "2", "via_mirror": mirror}
        body = deployment_body(
            name, unique("billing"), [topic], colours={"blue": {"version": "1"}, "green": green}
        )
        said = create_with_cli(cp, body, tmp_path).stdout
        assert f"green consumes the copies of {mirror} on dr" in said

        def stop_all() -> None:
            for process, _ in processes:
                process.send_signal(signal.SIGTERM)
            for process, _ in processes:
                process.wait(STOP_TIMEOUT_S)

        stack.callback(stop_all)
        common = ["--zookeeper", zk_root, "--session-timeout", str(SESSION_TIMEOUT_S),
                  "--fence-margin", str(FENCE_MARGIN_S)]  # fmt: skip
        log = tmp_path / "mirror.out"
        processes.append(
            (_spawn(log, "mirror", "run", "--deployment", mirror, "--colour", "blue",
                    "--instance", "m-1", "--kafka", a, *common), log)
        )  # fmt: skip
        # Blue is told its side; green reads its own from the directive (via_mirror).
        sides = {"blue": ["--mirror", mirror, "--side", "source"], "green": []}
        for colour, own, peer in (("blue", a, b), ("green", b, a)):
            log = tmp_path / f"{colour}.out"
            env = {**os.environ, "TURNOUT_TEST_RECORDS_FILE": str(files[colour])}
            processes.append(
                (_spawn(log, "mirror", "consume",
                        "tests.support.agent_handlers:append_source_position",
                        *sides[colour], "--peer-kafka", peer,
                        "--deployment", name, "--colour", colour, "--instance", f"{colour}-1",
                        "--kafka", own, *common, env=env), log)
            )  # fmt: skip

        def processed(colour: str) -> int:
            return len(recorded_positions(files[colour]))

        wait_until(lambda: processed("blue") >= RECORDS, SETTLE_S, lambda: f"blue: {logs()}")
        with cp.client() as operator:
            started = operator.post(
                f"/api/v1/deployments/{name}/switch", json={"to": "green", "wait_ready_ms": 60_000}
            )
            assert started.status_code == 202, started.text
            switch = wait_switch(
                operator, started.json()["id"], {"completed", "failed", "timed_out"}
            )
        assert switch["state"] == "completed", f"{switch}\n{logs()}"
        produce_keyed(a, topic, RECORDS, start=RECORDS)
        wait_until(lambda: processed("green") >= RECORDS, SETTLE_S, lambda: f"green: {logs()}")

        def state() -> dict[str, Any]:
            return live_state(cp, name)

        # The live colour commits on B: its lag there falls to nothing. (A's commits
        # stopped at the switch, 200 records behind A's end.)
        wait_until(
            lambda: state()["active_colour"] == "green" and state()["lag_total"] == 0,
            SETTLE_S,
            lambda: f"the state shows {state()}",
        )
        shown = state()
        assert shown["kafka"] == "ok"
        assert {p["topic"] for p in shown["partitions"]} == {topic}  # the deployment's names
        assert sum(p["end_offset"] for p in shown["partitions"]) == 2 * RECORDS  # B's copies
        assert shown["clusters"] == {"blue": "local", "green": "dr"}
        status = subprocess.run(
            [sys.executable, "-m", "turnout", "status", name, "--url", cp.url,
             "--token", cp.tokens[ApiRole.VIEWER]],
            capture_output=True, text=True, timeout=STOP_TIMEOUT_S, check=False,
        )  # fmt: skip
        assert status.returncode == 0, status.stderr
        assert f"{name}: live green on dr, epoch 2" in status.stdout
        stop_all()
        processes.clear()

    done = {colour: recorded_positions(path) for colour, path in files.items()}
    every = Counter(done["blue"] + done["green"])
    assert [where for where, n in every.items() if n > 1] == []
    assert sorted(every) == sorted(source_positions(a, topic, 2 * RECORDS))
