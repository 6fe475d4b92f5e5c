"""One Kafka broker (KRaft, no ZooKeeper) that its owner stops and starts at will.

For outage tests and benchmarks: a broker of its own on free ports and its own state
directory, never the shared stack's. Its data outlives ``stop``, so topics and records
are there again after ``start`` (the same config writer, storage format and command
line as the local stack's Kafka).

States: STOPPED ──start──▶ RUNNING (the readiness probe passed) ──stop──▶ STOPPED;
a start that does not become ready within ``START_TIMEOUT_S`` stops what it started
and raises ``StackError`` with the log's tail.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Final

from turnout.devstack import artifacts, process, services
from turnout.devstack.errors import StackError, read_log_tail
from turnout.devstack.settings import StackSettings

#: Kafka (KRaft, one node) serves in 3-8 s idle; a loaded 2-core machine needs more.
START_TIMEOUT_S: Final = 120.0
_PROBE_INTERVAL_S: Final = 0.25


class StandaloneKafka:
    def __init__(self, state_dir: Path) -> None:
        self.settings = StackSettings(
            state_dir=state_dir,
            zookeeper_port=process.free_port(),
            kafka_port=process.free_port(),
            kafka_controller_port=process.free_port(),
        )
        self.marker = process.stack_marker(state_dir)
        self.pid: int | None = None
        self._lib = artifacts.fetch(
            self.settings.cache_dir, artifacts.kafka_distribution(self.settings.kafka_version)
        )

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka_bootstrap

    @property
    def log_file(self) -> Path:
        return services.layout(self.settings, "kafka").log_file

    def start(self) -> None:
        layout = services.write_kafka_config(self.settings)
        if not services.kafka_storage_is_formatted(self.settings):
            services.format_kafka_storage(self.settings, self._lib, self.marker)
        self.pid = process.spawn_detached(
            services.kafka_command(self.settings, self._lib, self.marker),
            layout.log_file,
            layout.home,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not services.kafka_is_ready(self.settings):
            if time.monotonic() > deadline or not process.is_ours(self.pid, self.marker):
                self.stop()
                raise StackError(
                    "the standalone Kafka did not become ready",
                    read_log_tail(layout.log_file),
                    layout.log_file,
                )
            time.sleep(_PROBE_INTERVAL_S)

    def stop(self) -> None:
        """Stop the broker (SIGTERM: a controlled shutdown), keeping its data."""
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
