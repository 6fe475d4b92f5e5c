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
from turnout.controlplane.db import make_engine, make_sessionmaker
from turnout.controlplane.kafka_admin import KafkaAdmin
from turnout.controlplane.metrics import Metrics
from turnout.controlplane.models import Cluster
from turnout.controlplane.settings import ControlPlaneSettings


@dataclass
class AppContext:
    settings: ControlPlaneSettings
    engine: Engine
    sessions: sessionmaker[Session]
    zookeeper: ZkConnections
    kafka: KafkaAdmin
    auth_throttle: FailedAuthThrottle
    metrics: Metrics = field(default_factory=Metrics)

    @classmethod
    def build(cls, settings: ControlPlaneSettings) -> AppContext:
        engine = make_engine(settings.database_url)
        digest: tuple[str, str] | None = None
        if settings.zookeeper_digest is not None:
            user, _, password = settings.zookeeper_digest.get_secret_value().partition(":")
            digest = (user, password)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            zookeeper=ZkConnections(digest=digest),
            kafka=KafkaAdmin(),
            auth_throttle=FailedAuthThrottle(
                limit=settings.auth_failure_limit, window_s=settings.auth_failure_window_s
            ),
        )

    def zookeeper_of(self, cluster: Cluster) -> ZkConnection:
        """The connection to ``cluster``'s ZooKeeper (connecting in the background)."""
        return self.zookeeper.get(cluster.zookeeper_connect)

    def close(self) -> None:
        self.zookeeper.close()
        self.engine.dispose()
