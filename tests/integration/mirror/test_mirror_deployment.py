"""A mirror created as a deployment with `turnout deployments create`, and run by
`turnout mirror run` told nothing but its deployment: the target cluster and the naming
come from the directive the control plane wrote.

On two real clusters, a real control plane and ZooKeeper."""

from __future__ import annotations

import signal
import subprocess
import sys
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
)
from tests.support.agent_kit import REPO_ROOT
from tests.support.controlplane import RunningControlPlane
from tests.support.mirror_kit import (
    Fingerprint,
    create_source_topic,
    produce_keyed,
    read_topic,
    record_count,
)
from tests.support.services import Services
from tests.support.waiting import wait_until

#: Copying a few hundred records between two local brokers takes seconds, after the
#: agent's start; a 2-core machine shared with other test sessions needs more.
MIRRORED_TIMEOUT_S = 120.0
#: A mirror agent drains, commits and releases on SIGTERM.
STOP_TIMEOUT_S = 60.0
RECORDS = 400
COORDINATES = "turnout.mirror.source."


def _without_coordinates(fingerprint: Fingerprint) -> Fingerprint:
    key, value, headers, timestamp = fingerprint
    kept = tuple(h for h in headers if not h[0].startswith(COORDINATES))
    return key, value, kept, timestamp


def _control_plane(
    stack: ExitStack, tmp_path: Path, zk_root: str, source: str, target: str
) -> RunningControlPlane:
    """A control plane with the source cluster ("local") and the target ("dr")."""
    database = f"sqlite:///{tmp_path / 'controlplane.db'}"
    cp = start_with_cluster(cp_settings(database, zk_root, source), stack)
    with cp.client() as admin:
        register_cluster(admin, "dr", target, zk_root, "/turnout-dr")
    return cp


def _spawn_mirror_run(name: str, zk_root: str, source: str, log: Path) -> subprocess.Popen[bytes]:
    """`turnout mirror run` told only its deployment, writing to ``log``."""
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "turnout", "mirror", "run", "--deployment", name,
             "--colour", "blue", "--instance", "m-1", "--zookeeper", zk_root,
             "--kafka", source],
            stdout=sink, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
        )  # fmt: skip


def test_a_mirror_created_with_the_cli_runs_from_its_deployment_alone(
    two_clusters: Services,
    zk_root: str,
    tmp_path: Path,
    unique: Callable[[str], str],
) -> None:
    assert two_clusters.second_kafka is not None
    source, target = two_clusters.kafka, two_clusters.second_kafka
    topic = unique("orders")
    create_source_topic(source, topic, 4)
    produce_keyed(source, topic, RECORDS)
    with ExitStack() as stack:
        cp = _control_plane(stack, tmp_path, zk_root, source, target)
        name = unique("mirror")
        body = deployment_body(
            name,
            unique("group"),
            [topic],
            mirror={"target_cluster": "dr", "source_alias": "eu", "coordinate_headers": True},
        )
        created = create_with_cli(cp, body, tmp_path)
        assert "mirroring to dr" in created.stdout
        assert f"{topic} → eu.{topic}" in created.stdout

        log = tmp_path / "mirror.out"
        mirror = _spawn_mirror_run(name, zk_root, source, log)
        try:
            wait_until(
                lambda: mirror.poll() is not None or record_count(target, f"eu.{topic}") >= RECORDS,
                MIRRORED_TIMEOUT_S,
                lambda: (
                    f"{record_count(target, f'eu.{topic}')} of {RECORDS} mirrored; "
                    f"the mirror's log:\n{log.read_text()[-3000:]}"
                ),
            )
            assert mirror.poll() is None, log.read_text()[-3000:]
        finally:
            mirror.send_signal(signal.SIGTERM)
            mirror.wait(STOP_TIMEOUT_S)
    assert mirror.returncode == 0, log.read_text()[-3000:]
    expected = read_topic(source, topic)
    copied = read_topic(target, f"eu.{topic}")
    assert {p: [_without_coordinates(f) for f in fs] for p, fs in copied.items()} == expected
    offsets = [
        dict(headers)[COORDINATES + "offset"]
        for fingerprints in copied.values()
        for _, _, headers, _ in fingerprints
    ]
    assert len(offsets) == RECORDS  # the deployment asked for coordinate headers


def test_a_mirror_made_of_a_pattern_alone_copies_each_matching_topic_and_shows_its_lag(
    two_clusters: Services,
    zk_root: str,
    tmp_path: Path,
    unique: Callable[[str], str],
) -> None:
    assert two_clusters.second_kafka is not None
    source, target = two_clusters.kafka, two_clusters.second_kafka
    prefix = unique("audit")
    first, later, unmatched = f"{prefix}.eu", f"{prefix}.us", f"{prefix}-other"
    create_source_topic(source, first, 3)
    create_source_topic(source, unmatched, 1)
    produce_keyed(source, first, RECORDS)
    produce_keyed(source, unmatched, 10)
    with ExitStack() as stack:
        cp = _control_plane(stack, tmp_path, zk_root, source, target)
        name = unique("mirror")
        body = deployment_body(
            name,
            unique("group"),
            [],
            mirror={"target_cluster": "dr", "source_topic_pattern": rf"{prefix}\..*"},
        )
        created = create_with_cli(cp, body, tmp_path)
        assert rf"and every source topic matching {prefix}\..*" in created.stdout
        log = tmp_path / "mirror.out"
        mirror = _spawn_mirror_run(name, zk_root, source, log)
        stack.callback(mirror.wait, STOP_TIMEOUT_S)
        stack.callback(mirror.send_signal, signal.SIGTERM)

        def mirrored(topic: str, count: int) -> None:
            wait_until(
                lambda: (
                    mirror.poll() is not None or record_count(target, f"local.{topic}") >= count
                ),
                MIRRORED_TIMEOUT_S,
                lambda: (
                    f"{record_count(target, f'local.{topic}')} of {count} of {topic} "
                    f"mirrored; the mirror's log:\n{log.read_text()[-3000:]}"
                ),
            )
            assert mirror.poll() is None, log.read_text()[-3000:]

        mirrored(first, RECORDS)
        create_source_topic(source, later, 2)
        produce_keyed(source, later, RECORDS // 2)
        mirrored(later, RECORDS // 2)

        def state() -> dict[str, Any]:
            return live_state(cp, name)

        # The control plane's lag covers the topics the pattern takes, and only those,
        # and falls to nothing once the mirror has committed what it copied.
        wait_until(
            lambda: (
                state()["lag_total"] == 0
                and {p["topic"] for p in state()["partitions"]} == {first, later}
            ),
            MIRRORED_TIMEOUT_S,
            lambda: f"the state shows {state()}",
        )
        shown = state()
        assert len(shown["partitions"]) == 5
        assert sum(p["end_offset"] for p in shown["partitions"]) == RECORDS + RECORDS // 2
    assert mirror.returncode == 0, log.read_text()[-3000:]
    assert record_count(target, f"local.{unmatched}") == 0
    assert read_topic(target, f"local.{first}") == read_topic(source, first)
    assert read_topic(target, f"local.{later}") == read_topic(source, later)
