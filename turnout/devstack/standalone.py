"""Single servers that their owner stops and starts at will: a Kafka broker (KRaft, no
ZooKeeper) and a ZooKeeper server.

For outage tests and benchmarks: each server has its own free ports and state directory,
never the shared stack's, and is written, formatted and started by the same config writer
and command line as the local stack's. Its data outlives ``stop``, so a restarted Kafka
has its topics and records, and a restarted ZooKeeper its sessions' znodes.

States: STOPPED ──start──▶ RUNNING (the readiness probe passed) ──stop──▶ STOPPED;
a start that does not become ready within its ``start_timeout_s`` stops what it started
and raises ``StackError`` with the log's tail.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Final

from turnout.devstack import artifacts, process, services
from turnout.devstack.errors import StackError, read_log_tail
from turnout.devstack.settings import StackSettings

#: Kafka (KRaft, one node) serves in 3-8 s idle; a loaded 2-core machine needs more.
KAFKA_START_TIMEOUT_S: Final = 120.0
#: A JVM ZooKeeper serves in 1-3 s idle; a loaded 2-core machine needs more.
ZOOKEEPER_START_TIMEOUT_S: Final = 60.0
#: How often a starting server's readiness is probed: a probe is one connection.
_PROBE_INTERVAL_S: Final = 0.25


class _StandaloneServer(ABC):
    """What every standalone server shares; a subclass says which service it is."""

    service: str
    start_timeout_s: float

    def __init__(self, state_dir: Path) -> None:
        self.settings = StackSettings(
            state_dir=state_dir,
            zookeeper_port=process.free_port(),
            kafka_port=process.free_port(),
            kafka_controller_port=process.free_port(),
        )
        self.marker = process.stack_marker(state_dir)
        self.pid: int | None = None
        self._lib = artifacts.fetch(self.settings.cache_dir, self._distribution())

    @abstractmethod
    def _distribution(self) -> artifacts.Distribution:
        """The Maven distribution the server runs from."""

    @abstractmethod
    def _prepare(self) -> list[str]:
        """Write the server's config (and format its storage); its command line."""

    @abstractmethod
    def _is_ready(self) -> bool:
        """Whether the server answers."""

    @property
    def log_file(self) -> Path:
        return services.layout(self.settings, self.service).log_file

    def start(self) -> None:
        command = self._prepare()
        self.pid = process.spawn_detached(
            command, self.log_file, services.layout(self.settings, self.service).home
        )
        deadline = time.monotonic() + self.start_timeout_s
        while not self._is_ready():
            if time.monotonic() > deadline or not process.is_ours(self.pid, self.marker):
                self.stop()
                raise StackError(
                    f"the standalone {self.service} did not become ready",
                    read_log_tail(self.log_file),
                    self.log_file,
                )
            time.sleep(_PROBE_INTERVAL_S)

    def stop(self) -> None:
        """Stop the server (SIGTERM: a controlled shutdown), keeping its data."""
        if self.pid is not None:
            process.stop(self.pid, self.marker)
            self.pid = None
        for pid in process.find_ours(self.marker):
            process.stop(pid, self.marker)

    @property
    def running(self) -> bool:
        return self.pid is not None and process.is_ours(self.pid, self.marker)

    def log_tail(self) -> str:
        return read_log_tail(self.log_file)


class StandaloneKafka(_StandaloneServer):
    service = "kafka"
    start_timeout_s = KAFKA_START_TIMEOUT_S

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka_bootstrap

    def _distribution(self) -> artifacts.Distribution:
        return artifacts.kafka_distribution(self.settings.kafka_version)

    def _prepare(self) -> list[str]:
        services.write_kafka_config(self.settings)
        if not services.kafka_storage_is_formatted(self.settings):
            services.format_kafka_storage(self.settings, self._lib, self.marker)
        return services.kafka_command(self.settings, self._lib, self.marker)

    def _is_ready(self) -> bool:
        return services.kafka_is_ready(self.settings)


class StandaloneZooKeeper(_StandaloneServer):
    service = "zookeeper"
    start_timeout_s = ZOOKEEPER_START_TIMEOUT_S

    @property
    def connect(self) -> str:
        return self.settings.zookeeper_connect

    def _distribution(self) -> artifacts.Distribution:
        return artifacts.zookeeper_distribution(self.settings.zookeeper_version)

    def _prepare(self) -> list[str]:
        services.write_zookeeper_config(self.settings)
        return services.zookeeper_command(self.settings, self._lib, self.marker)

    def _is_ready(self) -> bool:
        return services.zookeeper_is_ready(self.settings)
