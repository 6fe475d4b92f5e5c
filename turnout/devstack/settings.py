"""Where the local stack lives and how it is bound: typed, from ``TURNOUT_DEV_*`` variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The pinned versions. Kafka 4.3.1's dependency tree resolves on Maven Central and the
#: broker runs on Java 17; ZooKeeper 3.9.5 is the newest 3.9 whose dependencies are served.
KAFKA_VERSION = "4.3.1"
ZOOKEEPER_VERSION = "3.9.5"


def _xdg(variable: str, fallback: str) -> Path:
    return Path(os.environ.get(variable) or Path.home() / fallback)


def default_cache_dir() -> Path:
    return _xdg("XDG_CACHE_HOME", ".cache") / "turnout"


def default_state_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state") / "turnout" / "devstack"


class StackSettings(BaseSettings):
    """Settings of one local stack. Two stacks with different state dirs and ports coexist."""

    model_config = SettingsConfigDict(env_prefix="TURNOUT_DEV_", extra="ignore")

    host: str = "127.0.0.1"
    zookeeper_port: int = Field(default=2181, ge=1, le=65535)
    kafka_port: int = Field(default=9092, ge=1, le=65535)
    kafka_controller_port: int = Field(default=9093, ge=1, le=65535)
    kafka_version: str = KAFKA_VERSION
    zookeeper_version: str = ZOOKEEPER_VERSION
    cache_dir: Path = Field(default_factory=default_cache_dir)
    state_dir: Path = Field(default_factory=default_state_dir)
    kafka_heap: str = "768m"
    zookeeper_heap: str = "256m"
    #: A short tick lets clients ask for session timeouts from 1 s (2 ticks) upward,
    #: which the agent's fencing tests and benchmarks rely on.
    zookeeper_tick_ms: int = Field(default=500, ge=50)
    #: Kafka on SASL_SSL (SCRAM-SHA-512) and ZooKeeper on TLS with SASL, with a throw-away
    #: authority and credentials made in the state dir (``turnout.devstack.security``).
    #: Only `up` reads it: the other commands follow what the state dir holds.
    secure: bool = False
    #: 1, or 2 for a second single-node Kafka cluster beside the first (``kafka-b``: its
    #: own ports, data dir and cluster id), for the mirror's tests and demo. Only `up`
    #: reads it: the other commands follow what the state dir holds.
    clusters: int = Field(default=1, ge=1, le=2)
    second_kafka_port: int = Field(default=9192, ge=1, le=65535)
    second_kafka_controller_port: int = Field(default=9193, ge=1, le=65535)

    @property
    def zookeeper_connect(self) -> str:
        return f"{self.host}:{self.zookeeper_port}"

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def second_kafka_bootstrap(self) -> str:
        return f"{self.host}:{self.second_kafka_port}"


#: The second Kafka cluster's service name (``--clusters 2``).
SECOND_KAFKA = "kafka-b"


def second_cluster_settings(settings: StackSettings) -> StackSettings:
    """The second cluster as a one-cluster stack of its own: the same host, versions and
    cache, its own ports, and a state dir inside the first's (``<state dir>/kafka-b``), so
    that its config, data, log and KRaft cluster id never mix with the first's."""
    return settings.model_copy(
        update={
            "state_dir": settings.state_dir / SECOND_KAFKA,
            "kafka_port": settings.second_kafka_port,
            "kafka_controller_port": settings.second_kafka_controller_port,
            "clusters": 1,
        }
    )
