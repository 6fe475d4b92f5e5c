"""The mirror benchmark's Turnout side: a fresh deployment whose topic is the source topic
(at least once with the work manager's defaults, or exactly once: ``EXACTLY_ONCE_FIELDS``) and
``instances`` ``turnout mirror run`` processes of its blue colour, each owning its share
of the source partitions, copying to ``<alias>.<topic>`` on the target cluster
(``TURNOUT_ALIAS``, or ``TURNOUT_EOS_ALIAS`` exactly once). Exactly once, the run is
watched and judged as a ``read_committed`` reader sees the target. The deployment's
offset syncs topic on the target is deleted after the run."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException

from bench.deployment import DEPLOYMENT, bench_deployment
from bench.mirror_watch import MirrorRun, run_mirror, watcher_for
from bench.processors_data import create_topics, delete_topics
from turnout.mirror.sync_topic import offset_syncs_topic
from turnout.protocol.processing import ProcessingSettings

#: The benchmark's sides that are Turnout's mirror.
TURNOUT_SIDES = frozenset({"turnout", "turnout_eos"})
#: The source alias of Turnout's copies: its target topic is ``turnout.<topic>``.
TURNOUT_ALIAS = "turnout"
#: The same, exactly once: each side writes a target topic of its own.
TURNOUT_EOS_ALIAS = "turnout-eos"
#: The deployment's processing settings exactly once (per-partition order is what the
#: exactly-once runner needs, and what a mirror keeps anyway).
EXACTLY_ONCE_FIELDS = {"ordering": "partition", "guarantee": "exactly_once"}


def turnout_target_topic(source_topic: str, exactly_once: bool = False) -> str:
    return f"{TURNOUT_EOS_ALIAS if exactly_once else TURNOUT_ALIAS}.{source_topic}"


#: The exactly-once side's ZooKeeper session. A transaction may stay open for 80% of the
#: ownership lease (the session less the fence margin), and librdkafka fails every output
#: still unacknowledged after that: with the default session (10 s: transactions of
#: 6.8 s), a target broker that stalls a few seconds (this machine's disk: the KRaft
#: controller logs fsyncs of 2-4 s under the run's writes) aborts every open
#: transaction, re-copied from its first record. MirrorMaker 2 rides such stalls on its
#: 60 s transaction timeout; a mirror on such a cluster is run with a longer lease, as
#: docs/mirror.md says: 30 s gives transactions 22.8 s (and a crashed mirror's
#: partitions are taken over 30 s after the crash).
EOS_SESSION_TIMEOUT_S = 30.0


def _command(
    zookeeper: str, source: str, target: str, instance: str, alias: str, exactly_once: bool
) -> list[str]:
    session = ["--session-timeout", str(EOS_SESSION_TIMEOUT_S)] if exactly_once else []
    return [
        sys.executable, "-m", "turnout", "mirror", "run", "--target-kafka", target,
        "--source-alias", alias, "--deployment", DEPLOYMENT, "--colour", "blue",
        "--instance", instance, "--zookeeper", zookeeper, "--kafka", source,
        "--log-level", "WARNING", *session,
    ]  # fmt: skip


def run_turnout_mirror(
    zookeeper: str, source: str, target: str, topic: str, records: int, instances: int,
    log_dir: Path, exactly_once: bool = False,
) -> tuple[MirrorRun, dict[str, Any]]:  # fmt: skip
    """Mirror ``topic`` (``records`` records) with ``instances`` agents until every copy
    is readable on ``target``; the run and the settings it ran with."""
    target_topic = turnout_target_topic(topic, exactly_once)
    alias = TURNOUT_EOS_ALIAS if exactly_once else TURNOUT_ALIAS
    # Made here, like MirrorMaker 2's, so that the watcher follows it from the start.
    create_topics(target, target_topic)
    environment = {**os.environ, "PYTHONWARNINGS": "ignore"}
    processing = ProcessingSettings.model_validate(EXACTLY_ONCE_FIELDS) if exactly_once else None
    log_name = "turnout-eos-mirror" if exactly_once else "turnout-mirror"
    with bench_deployment(zookeeper, topic, processing) as deployment:

        def launch() -> list[subprocess.Popen[bytes]]:
            started = []
            for n in range(1, instances + 1):
                command = _command(
                    deployment.zookeeper, source, target, f"mirror-{n}", alias, exactly_once
                )
                with (log_dir / f"{log_name}-{n}.log").open("wb") as log:
                    started.append(
                        subprocess.Popen(
                            command, stdout=log, stderr=subprocess.STDOUT, env=environment
                        )
                    )
            return started

        watcher = watcher_for(target, target_topic, records, exactly_once)
        try:
            run = run_mirror("turnout mirror", launch, watcher)
        finally:
            # Missing when the run failed before its first sync: nothing to delete then.
            with contextlib.suppress(KafkaException):
                delete_topics(target, offset_syncs_topic(DEPLOYMENT))
    settings: dict[str, Any] = {
        "instances": instances,
        "guarantee": "exactly_once" if exactly_once else "at_least_once",
        "target": target_topic,
    }
    if processing is not None:
        settings["processing"] = EXACTLY_ONCE_FIELDS
        settings["session_timeout_s"] = EOS_SESSION_TIMEOUT_S
    return run, settings
