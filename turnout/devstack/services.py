"""The two services of the stack: their config files, JVM command lines and readiness probes."""

from __future__ import annotations

import base64
import concurrent.futures
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from turnout.devstack import secure_config
from turnout.devstack.errors import StackError, read_log_tail
from turnout.devstack.security import (
    StackSecurity,
    kafka_client_config,
    kafka_scram_arguments,
    write_private,
)
from turnout.devstack.settings import StackSettings

#: The topic the readiness probe creates: a broker that accepts it can host test topics.
READINESS_TOPIC = "__turnout_readiness"
#: One admin round trip on loopback takes milliseconds; a broker still starting answers
#: within this or not at all, and the probe is retried until the start deadline.
_ADMIN_REQUEST_TIMEOUT_S = 3.0
#: Formatting KRaft storage starts a JVM once; it takes 1-3 s.
STORAGE_FORMAT_TIMEOUT_S = 120.0

_LOG4J2_YAML = """Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Logger:
      - name: kafka.request.logger
        level: WARN
      - name: org.apache.kafka.controller
        level: INFO
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
"""


@dataclass(frozen=True)
class ServiceLayout:
    """Where one service keeps its config, data and log under the stack's state dir."""

    name: str
    home: Path

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def config_file(self) -> Path:
        return self.home / ("zoo.cfg" if self.name == "zookeeper" else "server.properties")

    @property
    def log_file(self) -> Path:
        return self.home / f"{self.name}.log"


def layout(settings: StackSettings, name: str) -> ServiceLayout:
    return ServiceLayout(name=name, home=settings.state_dir / name)


def _java_command(heap: str, marker: str, lib: Path, *extra: str) -> list[str]:
    return [
        "java",
        f"-Xmx{heap}",
        "-Xms64m",
        "-XX:+UseSerialGC",
        "-Djava.awt.headless=true",
        marker,
        *extra,
        "-cp",
        f"{lib}/*",
    ]


# ---- ZooKeeper ---------------------------------------------------------------------------


def _write_config(path: Path, lines: list[str]) -> None:
    """Write a service's configuration, readable by its owner only: a secured service's
    holds passwords."""
    write_private(path, "\n".join([*lines, ""]))


def write_zookeeper_config(
    settings: StackSettings, security: StackSecurity | None = None
) -> ServiceLayout:
    zk = layout(settings, "zookeeper")
    zk.data_dir.mkdir(parents=True, exist_ok=True)
    if security is None:
        listener = [f"clientPort={settings.zookeeper_port}", f"clientPortAddress={settings.host}"]
    else:
        listener = secure_config.zookeeper_listener_lines(settings, security)
    _write_config(
        zk.config_file,
        [
            f"tickTime={settings.zookeeper_tick_ms}",
            f"minSessionTimeout={2 * settings.zookeeper_tick_ms}",
            "maxSessionTimeout=60000",
            f"dataDir={zk.data_dir}",
            *listener,
            "maxClientCnxns=0",
            "admin.enableServer=false",
            "4lw.commands.whitelist=ruok,srvr,stat,mntr,cons,dump",
            "autopurge.purgeInterval=1",
        ],
    )
    return zk


def zookeeper_command(
    settings: StackSettings, lib: Path, marker: str, security: StackSecurity | None = None
) -> list[str]:
    zk = layout(settings, "zookeeper")
    flags = [] if security is None else secure_config.zookeeper_jvm_flags(security)
    return [
        *_java_command(
            settings.zookeeper_heap, marker, lib, "-Dzookeeper.admin.enableServer=false", *flags
        ),
        "org.apache.zookeeper.server.quorum.QuorumPeerMain",
        str(zk.config_file),
    ]


def four_letter_word(host: str, port: int, word: str, timeout_s: float = 2.0) -> str:
    """Send a ZooKeeper four-letter command and return the whole answer ("" if none)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as conn:
            conn.sendall(word.encode())
            chunks = []
            while chunk := conn.recv(4096):
                chunks.append(chunk)
    except OSError:
        return ""
    return b"".join(chunks).decode("utf-8", errors="replace")


def zookeeper_is_ready(settings: StackSettings, security: StackSecurity | None = None) -> bool:
    # `srvr` answers "not currently serving requests" until the server can take sessions.
    if security is None:
        answer = four_letter_word(settings.host, settings.zookeeper_port, "srvr")
    else:
        answer = secure_config.tls_four_letter_word(
            settings.host, settings.zookeeper_port, "srvr", security
        )
    return "Mode:" in answer


def zookeeper_version(settings: StackSettings) -> str:
    answer = four_letter_word(settings.host, settings.zookeeper_port, "srvr")
    for line in answer.splitlines():
        if line.startswith("Zookeeper version:"):
            return line.split(":", 1)[1].split(",")[0].strip()
    return ""


# ---- Kafka ---------------------------------------------------------------------------------


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (Kafka's Uuid).

    Like Kafka's ``Uuid.randomUuid``, an id starting with '-' is drawn again: the storage
    tool would read it as an option (it happens for 1 id in 64).
    """
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not candidate.startswith("-"):
            return candidate


def _plain_kafka_listener_lines(settings: StackSettings) -> list[str]:
    host = settings.host
    return [
        f"listeners=PLAINTEXT://{host}:{settings.kafka_port},"
        f"CONTROLLER://{host}:{settings.kafka_controller_port}",
        f"advertised.listeners=PLAINTEXT://{host}:{settings.kafka_port}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name=PLAINTEXT",
    ]


def write_kafka_config(
    settings: StackSettings, security: StackSecurity | None = None
) -> ServiceLayout:
    kafka = layout(settings, "kafka")
    kafka.data_dir.mkdir(parents=True, exist_ok=True)
    if security is None:
        listeners = _plain_kafka_listener_lines(settings)
    else:
        listeners = secure_config.kafka_listener_lines(settings, security)
    _write_config(
        kafka.config_file,
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{settings.host}:{settings.kafka_controller_port}",
            *listeners,
            f"log.dirs={kafka.data_dir}",
            "num.partitions=1",
            # One node: every internal topic has exactly one replica.
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=8",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            # Consumer groups of the benchmarks and tests form at once, not after 3 s.
            "group.initial.rebalance.delay.ms=0",
            "group.consumer.min.session.timeout.ms=1000",
            "group.consumer.min.heartbeat.interval.ms=500",
            "group.min.session.timeout.ms=1000",
            # Topics are created on purpose by Turnout and its tests, never by a typo.
            "auto.create.topics.enable=false",
            "log.retention.hours=24",
            "log.segment.bytes=67108864",
        ],
    )
    (kafka.home / "log4j2.yaml").write_text(_LOG4J2_YAML)
    return kafka


def kafka_storage_is_formatted(settings: StackSettings) -> bool:
    return (layout(settings, "kafka").data_dir / "meta.properties").is_file()


def _argument_file(path: Path, arguments: list[str]) -> None:
    """A java ``@file``: the JVM reads these arguments from the file, so a password among
    them never shows on the process's command line."""
    quoted = ['"' + a.replace("\\", "\\\\").replace('"', '\\"') + '"' for a in arguments]
    _write_config(path, quoted)


def format_kafka_storage(
    settings: StackSettings, lib: Path, marker: str, security: StackSecurity | None = None
) -> None:
    """Format KRaft storage; a secured stack's SCRAM users are created with it."""
    kafka = layout(settings, "kafka")
    arguments = ["kafka.tools.StorageTool", "format", "-t", new_cluster_id()]
    arguments += ["-c", str(kafka.config_file)]
    if security is not None:
        arguments += kafka_scram_arguments(security)
    argument_file = kafka.home / "format.args"
    _argument_file(argument_file, arguments)
    format_log = kafka.home / "format.log"
    # The tool logs each SCRAM user's salt and keys: the log is as private as the config.
    write_private(format_log, "")
    try:
        with format_log.open("w") as log:
            result = subprocess.run(
                [*_java_command("256m", marker, lib), f"@{argument_file}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=STORAGE_FORMAT_TIMEOUT_S,
                check=False,
            )
    finally:
        argument_file.unlink(missing_ok=True)
    if result.returncode != 0:
        raise StackError(
            "formatting Kafka's KRaft storage failed", read_log_tail(format_log), format_log
        )


def kafka_command(settings: StackSettings, lib: Path, marker: str) -> list[str]:
    kafka = layout(settings, "kafka")
    return [
        *_java_command(
            settings.kafka_heap,
            marker,
            lib,
            f"-Dlog4j2.configurationFile={kafka.home / 'log4j2.yaml'}",
            f"-Dkafka.logs.dir={kafka.home}",
        ),
        "kafka.Kafka",
        str(kafka.config_file),
    ]


def _admin(settings: StackSettings, security: StackSecurity | None) -> AdminClient:
    config: dict[str, str | int | float | bool] = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "socket.connection.setup.timeout.ms": 2000,
        "reconnect.backoff.max.ms": 500,
        "log_level": 0,
    }
    if security is not None:
        config.update(kafka_client_config(security, security.admin))
    return AdminClient(config)


def _create_readiness_topic(admin: AdminClient) -> None:
    futures = admin.create_topics(
        [NewTopic(READINESS_TOPIC, num_partitions=1, replication_factor=1)],
        request_timeout=_ADMIN_REQUEST_TIMEOUT_S,
    )
    try:
        futures[READINESS_TOPIC].result(timeout=_ADMIN_REQUEST_TIMEOUT_S)
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise


def kafka_is_ready(settings: StackSettings, security: StackSecurity | None = None) -> bool:
    """The broker answers metadata and accepts (or already has) the readiness topic; a
    secured broker over SASL_SSL as the stack's admin."""
    admin = _admin(settings, security)
    try:
        metadata = admin.list_topics(timeout=_ADMIN_REQUEST_TIMEOUT_S)
        if READINESS_TOPIC not in metadata.topics:
            _create_readiness_topic(admin)
        topic = admin.list_topics(topic=READINESS_TOPIC, timeout=_ADMIN_REQUEST_TIMEOUT_S)
    except (KafkaException, concurrent.futures.TimeoutError):
        return False
    partitions = topic.topics[READINESS_TOPIC].partitions
    return bool(partitions) and all(p.leader >= 0 for p in partitions.values())
