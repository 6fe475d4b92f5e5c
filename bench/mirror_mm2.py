"""The mirror benchmark's peer: Kafka's MirrorMaker 2 in its dedicated mode.

``org.apache.kafka:connect-mirror`` (``MM2_VERSION``) and what
``org.apache.kafka.connect.mirror.MirrorMaker`` needs on its classpath (Connect's runtime
comes with it; a log4j2 binding is added, as the dev stack's Kafka has) are fetched from
Maven Central once into ``~/.cache/turnout/runtimes`` by the dev stack's own fetcher
(``turnout.devstack.artifacts``). Each run gets a generated properties file: one flow
``src->dst`` of the one source topic, ``tasks.max`` equal to Turnout's instances, the
target producer's batching and linger tuned as MirrorMaker 2's users tune them for
throughput (``PRODUCER``), heartbeats, checkpoints and ACL sync off (Turnout's side does
none of them either). Its copies go to ``src.<topic>`` (``DefaultReplicationPolicy``).
Its internal topics are deleted after the run.

Exactly once (KIP-618, supported by the dedicated mode since Kafka 3.5): the target's
``exactly.once.source.support`` ``enabled`` (a new MirrorMaker cluster: no
``preparing`` step), which needs the dedicated mode's internal REST server
(``dedicated.mode.enable.internal.rest``, on a free loopback port: the workers fence
their tasks' producers through it), and the source consumer reading ``read_committed``
(the connector declares exactly-once support only then). The run uses aliases of its own
(``EOS_ALIASES``), so its copies (``srceos.<topic>``) and internal topics never meet
those of an at-least-once run just deleted.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from bench.mirror_watch import MirrorRun, run_mirror, watcher_for
from bench.processors_data import TOPIC_TIMEOUT_S, create_topics
from turnout.devstack.artifacts import LOG4J2_BINDING, Distribution, MavenDependency, fetch
from turnout.devstack.settings import default_cache_dir

MM2_VERSION = "4.3.1"
SOURCE_ALIAS = "src"
TARGET_ALIAS = "dst"
#: The source and target aliases of an exactly-once run.
EOS_ALIASES = ("srceos", "dsteos")
MAIN_CLASS = "org.apache.kafka.connect.mirror.MirrorMaker"
#: The JVM's heap: the producer's buffers (32 MiB each) and Connect's worker fit well in it.
HEAP = "1g"
#: The target producer as users tune MirrorMaker 2 for throughput: bigger batches, a
#: short linger so they fill, no compression (the benchmark's records are filler).
PRODUCER = {"linger.ms": "20", "batch.size": "524288", "compression.type": "none"}
#: The source consumer: larger polls than the default 500, so a task's loop turns less.
CONSUMER = {"max.poll.records": "2000", "fetch.min.bytes": "1"}
_LOG4J2_PROPERTIES = """status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
"""


def mm2_distribution() -> Distribution:
    return Distribution(
        name="connect-mirror",
        version=MM2_VERSION,
        dependencies=(
            MavenDependency("org.apache.kafka", "connect-mirror", MM2_VERSION),
            *LOG4J2_BINDING,
        ),
    )


def _aliases(exactly_once: bool) -> tuple[str, str]:
    return EOS_ALIASES if exactly_once else (SOURCE_ALIAS, TARGET_ALIAS)


def mm2_target_topic(source_topic: str, exactly_once: bool = False) -> str:
    return f"{_aliases(exactly_once)[0]}.{source_topic}"


def mm2_settings(
    source: str, target: str, topic: str, tasks: int, rest_port: int | None = None
) -> dict[str, str]:
    """The properties file's entries; exactly once with the internal REST server's port."""
    src, dst = _aliases(rest_port is not None)
    settings = {
        "clusters": f"{src}, {dst}",
        f"{src}.bootstrap.servers": source,
        f"{dst}.bootstrap.servers": target,
        f"{src}->{dst}.enabled": "true",
        f"{src}->{dst}.topics": topic,
        f"{dst}->{src}.enabled": "false",
        "tasks.max": str(tasks),
        "emit.heartbeats.enabled": "false",
        "emit.checkpoints.enabled": "false",
        "sync.group.offsets.enabled": "false",
        "sync.topic.acls.enabled": "false",
    }
    # One broker per local cluster: every topic MirrorMaker 2 makes has one replica.
    for name in ("replication.factor", "offset-syncs.topic.replication.factor",
                 "checkpoints.topic.replication.factor", "heartbeats.topic.replication.factor",
                 "offset.storage.replication.factor", "status.storage.replication.factor",
                 "config.storage.replication.factor"):  # fmt: skip
        settings[name] = "1"
    settings.update({f"{dst}.producer.{k}": v for k, v in PRODUCER.items()})
    settings.update({f"{src}.consumer.{k}": v for k, v in CONSUMER.items()})
    if rest_port is not None:
        settings.update(
            {
                f"{dst}.exactly.once.source.support": "enabled",
                "dedicated.mode.enable.internal.rest": "true",
                "listeners": f"http://127.0.0.1:{rest_port}",
                f"{src}.consumer.isolation.level": "read_committed",
            }
        )
    return settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _delete_internal_topics(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [t for t in admin.list_topics(timeout=TOPIC_TIMEOUT_S).topics if t.startswith("mm2-")]
    for future in admin.delete_topics(names).values() if names else []:
        future.result(TOPIC_TIMEOUT_S)


def run_mm2(
    source: str, target: str, topic: str, records: int, tasks: int, work_dir: Path,
    exactly_once: bool = False,
) -> tuple[MirrorRun, dict[str, Any]]:  # fmt: skip
    """Mirror ``topic`` with MirrorMaker 2 until every copy is readable on ``target``
    (exactly once: to a ``read_committed`` reader); the run and the settings it ran with."""
    lib = fetch(default_cache_dir(), mm2_distribution())
    settings = mm2_settings(source, target, topic, tasks, _free_port() if exactly_once else None)
    name = "mm2-eos" if exactly_once else "mm2"
    properties = work_dir / f"{name}.properties"
    properties.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
    log4j = work_dir / "log4j2.properties"
    log4j.write_text(_LOG4J2_PROPERTIES)
    target_topic = mm2_target_topic(topic, exactly_once)
    create_topics(target, target_topic)
    command = [
        "java", f"-Xmx{HEAP}", f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{lib}/*",
        MAIN_CLASS, str(properties), "--clusters", _aliases(exactly_once)[1],
    ]  # fmt: skip

    def launch() -> list[subprocess.Popen[bytes]]:
        with (work_dir / f"{name}.log").open("wb") as log:
            return [subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)]

    watcher = watcher_for(target, target_topic, records, exactly_once)
    try:
        run = run_mirror("MirrorMaker 2", launch, watcher)
    finally:
        _delete_internal_topics(source)
        _delete_internal_topics(target)
    return run, {"version": MM2_VERSION, "heap": HEAP, "properties": settings}
