"""Everything one control-plane app holds: settings, database, ZooKeeper connections,
Kafka admin and metrics.

``create_app`` builds one :class:`AppContext` per app (never a module global), so tests
and the demo can run several control planes in one process; routes reach it through the
``ContextDep`` dependency, the leader loop and the services through their arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from turnout.controlplane.auth_throttle import FailedAuthThrottle
from turnout.controlplane.coordination.connections import ZkConnection, ZkConnections
from turnout.controlplane.coordination.credentials import (
    ClusterCredentials,
    CredentialsError,
    CredentialStore,
)
from turnout.controlplane.db import make_engine, make_read_sessionmaker, make_sessionmaker
from turnout.controlplane.kafka_admin import KafkaAdmin, KafkaDownError, KafkaTarget
from turnout.controlplane.metrics import Metrics
from turnout.controlplane.models import Cluster
from turnout.controlplane.settings import ControlPlaneSettings
from turnout.protocol.kafka_security import load_kafka_security
from turnout.zk import ZkSecurity, load_zk_security


def own_credentials(settings: ControlPlaneSettings) -> ClusterCredentials:
    """The process's own credentials: its environment and ``security_env_file``, with
    ``zookeeper_digest`` as its ZooKeeper identity when that is set."""
    zookeeper = load_zk_security(settings.security_env_file)
    if settings.zookeeper_digest is not None:
        if zookeeper.auth != "none":
            raise ValueError(
                "set either TURNOUT_ZOOKEEPER_DIGEST or TURNOUT_ZOOKEEPER_AUTH, not both"
            )
        user, _, password = settings.zookeeper_digest.get_secret_value().partition(":")
        zookeeper = ZkSecurity.model_validate(
            {**zookeeper.model_dump(), "auth": "digest", "username": user, "password": password}
        )
    return ClusterCredentials(
        kafka=load_kafka_security(settings.security_env_file), zookeeper=zookeeper
    )


@dataclass
class AppContext:
    settings: ControlPlaneSettings
    engine: Engine
    sessions: sessionmaker[Session]
    #: Sessions for reads only (GET requests, the event stream): on SQLite they read
    #: beside a writer instead of waiting for it (``db``).
    read_sessions: sessionmaker[Session]
    zookeeper: ZkConnections
    kafka: KafkaAdmin
    auth_throttle: FailedAuthThrottle
    metrics: Metrics = field(default_factory=Metrics)

    @classmethod
    def build(cls, settings: ControlPlaneSettings) -> AppContext:
        engine = make_engine(settings.database_url)
        credentials = CredentialStore(own_credentials(settings), settings.cluster_credentials_dir)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            read_sessions=make_read_sessionmaker(engine),
            zookeeper=ZkConnections(credentials),
            kafka=KafkaAdmin(),
            auth_throttle=FailedAuthThrottle(
                limit=settings.auth_failure_limit, window_s=settings.auth_failure_window_s
            ),
        )

    def zookeeper_of(self, cluster: Cluster) -> ZkConnection:
        """The connection to ``cluster``'s ZooKeeper (connecting in the background)."""
        return self.zookeeper.get(cluster.zookeeper_connect, cluster.credentials)

    def kafka_of(self, cluster: Cluster) -> KafkaTarget:
        """How to reach ``cluster``'s Kafka; KafkaDownError if its credentials cannot be
        resolved (the reason says why)."""
        try:
            security = self.zookeeper.credentials.resolve(cluster.credentials).kafka
        except CredentialsError as exc:
            raise KafkaDownError(f"Kafka at {cluster.kafka_bootstrap}: {exc}") from None
        return KafkaTarget(cluster.kafka_bootstrap, security)

    def close(self) -> None:
        self.zookeeper.close()
        self.engine.dispose()
