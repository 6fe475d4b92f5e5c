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
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from bench.mirror_watch import MirrorRun, WatermarkWatcher, run_mirror
from bench.processors_data import TOPIC_TIMEOUT_S, create_topics
from turnout.devstack.artifacts import LOG4J2_BINDING, Distribution, MavenDependency, fetch
from turnout.devstack.settings import default_cache_dir

MM2_VERSION = "4.3.1"
SOURCE_ALIAS = "src"
TARGET_ALIAS = "dst"
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


def mm2_target_topic(source_topic: str) -> str:
    return f"{SOURCE_ALIAS}.{source_topic}"


def mm2_settings(source: str, target: str, topic: str, tasks: int) -> dict[str, str]:
    """The properties file's entries."""
    settings = {
        "clusters": f"{SOURCE_ALIAS}, {TARGET_ALIAS}",
        f"{SOURCE_ALIAS}.bootstrap.servers": source,
        f"{TARGET_ALIAS}.bootstrap.servers": target,
        f"{SOURCE_ALIAS}->{TARGET_ALIAS}.enabled": "true",
        f"{SOURCE_ALIAS}->{TARGET_ALIAS}.topics": topic,
        f"{TARGET_ALIAS}->{SOURCE_ALIAS}.enabled": "false",
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
    settings.update({f"{TARGET_ALIAS}.producer.{k}": v for k, v in PRODUCER.items()})
    settings.update({f"{SOURCE_ALIAS}.consumer.{k}": v for k, v in CONSUMER.items()})
    return settings


def _delete_internal_topics(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [t for t in admin.list_topics(timeout=TOPIC_TIMEOUT_S).topics if t.startswith("mm2-")]
    for future in admin.delete_topics(names).values() if names else []:
        future.result(TOPIC_TIMEOUT_S)


def run_mm2(
    source: str, target: str, topic: str, records: int, tasks: int, work_dir: Path
) -> tuple[MirrorRun, dict[str, Any]]:
    """Mirror ``topic`` with MirrorMaker 2 until every copy is readable on ``target``;
    the run and the settings it ran with."""
    lib = fetch(default_cache_dir(), mm2_distribution())
    settings = mm2_settings(source, target, topic, tasks)
    properties = work_dir / "mm2.properties"
    properties.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
    log4j = work_dir / "log4j2.properties"
    log4j.write_text(_LOG4J2_PROPERTIES)
    target_topic = mm2_target_topic(topic)
    create_topics(target, target_topic)
    command = [
        "java", f"-Xmx{HEAP}", f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{lib}/*",
        MAIN_CLASS, str(properties), "--clusters", TARGET_ALIAS,
    ]  # fmt: skip

    def launch() -> list[subprocess.Popen[bytes]]:
        with (work_dir / "mm2.log").open("wb") as log:
            return [subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)]

    try:
        run = run_mirror("MirrorMaker 2", launch, WatermarkWatcher(target, target_topic, records))
    finally:
        _delete_internal_topics(source)
        _delete_internal_topics(target)
    return run, {"version": MM2_VERSION, "heap": HEAP, "properties": settings}
