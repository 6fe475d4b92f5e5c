"""A dedicated ZooKeeper server for tests that stop, restart or pause ZooKeeper.

Never the shared one: each instance has its own free port and state directory, and is
started and stopped only by the test that owns it (the devstack's own config writer and
command, so it is the same ZooKeeper as everywhere else, ``tickTime=500``).
"""

from __future__ import annotations

import time
from pathlib import Path

from turnout.devstack import artifacts, process, services
from turnout.devstack.errors import read_log_tail
from turnout.devstack.settings import StackSettings

#: A JVM ZooKeeper serves in 1-3 s idle; a loaded 2-core box needs more.
START_TIMEOUT_S = 60.0


class DedicatedZooKeeper:
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
            self.settings.cache_dir,
            artifacts.zookeeper_distribution(self.settings.zookeeper_version),
        )

    @property
    def connect(self) -> str:
        return self.settings.zookeeper_connect

    def start(self) -> None:
        layout = services.write_zookeeper_config(self.settings)
        self.pid = process.spawn_detached(
            services.zookeeper_command(self.settings, self._lib, self.marker),
            layout.log_file,
            layout.home,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not services.zookeeper_is_ready(self.settings):
            if time.monotonic() > deadline or not process.is_ours(self.pid, self.marker):
                self.stop()
                raise RuntimeError(f"dedicated ZooKeeper did not start; see {layout.log_file}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the server, keeping its data (a restart keeps sessions' znodes)."""
        if self.pid is not None:
            process.stop(self.pid, self.marker)
            self.pid = None
        for pid in process.find_ours(self.marker):
            process.stop(pid, self.marker)

    def log_tail(self) -> str:
        return read_log_tail(services.layout(self.settings, "zookeeper").log_file)
