"""The mirror benchmark's Turnout side: a fresh deployment whose topic is the source topic
(at-least-once, the work manager's defaults) and ``instances`` ``turnout mirror run``
processes of its blue colour, each owning its share of the source partitions, copying to
``<TURNOUT_ALIAS>.<topic>`` on the target cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.deployment import DEPLOYMENT, bench_deployment
from bench.mirror_watch import MirrorRun, WatermarkWatcher, run_mirror
from bench.processors_data import create_topics

#: The source alias of Turnout's copies: its target topic is ``turnout.<topic>``.
TURNOUT_ALIAS = "turnout"


def turnout_target_topic(source_topic: str) -> str:
    return f"{TURNOUT_ALIAS}.{source_topic}"


def _command(zookeeper: str, source: str, target: str, instance: str) -> list[str]:
    return [
        sys.executable, "-m", "turnout", "mirror", "run", "--target-kafka", target,
        "--source-alias", TURNOUT_ALIAS, "--deployment", DEPLOYMENT, "--colour", "blue",
        "--instance", instance, "--zookeeper", zookeeper, "--kafka", source,
        "--log-level", "WARNING",
    ]  # fmt: skip


def run_turnout_mirror(
    zookeeper: str, source: str, target: str, topic: str, records: int, instances: int,
    log_dir: Path,
) -> tuple[MirrorRun, dict[str, Any]]:  # fmt: skip
    """Mirror ``topic`` (``records`` records) with ``instances`` agents until every copy
    is readable on ``target``; the run and the settings it ran with."""
    target_topic = turnout_target_topic(topic)
    # Made here, like MirrorMaker 2's, so that the watcher follows it from the start.
    create_topics(target, target_topic)
    environment = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with bench_deployment(zookeeper, topic) as deployment:

        def launch() -> list[subprocess.Popen[bytes]]:
            started = []
            for n in range(1, instances + 1):
                command = _command(deployment.zookeeper, source, target, f"mirror-{n}")
                with (log_dir / f"turnout-mirror-{n}.log").open("wb") as log:
                    started.append(
                        subprocess.Popen(
                            command, stdout=log, stderr=subprocess.STDOUT, env=environment
                        )
                    )
            return started

        watcher = WatermarkWatcher(target, target_topic, records)
        run = run_mirror("turnout mirror", launch, watcher)
    settings = {"instances": instances, "guarantee": "at_least_once", "target": target_topic}
    return run, settings
