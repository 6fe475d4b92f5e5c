"""Everything one control-plane app holds: settings, database, ZooKeeper links, Kafka admin."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from turnout.controlplane.db import make_engine, make_sessionmaker
from turnout.controlplane.kafka_admin import KafkaAdmin
from turnout.controlplane.metrics import Metrics
from turnout.controlplane.settings import ControlPlaneSettings
from turnout.controlplane.zklinks import ZkLinks


@dataclass
class Runtime:
    settings: ControlPlaneSettings
    engine: Engine
    sessions: sessionmaker[Session]
    zk: ZkLinks
    kafka: KafkaAdmin
    metrics: Metrics = field(default_factory=Metrics)

    @classmethod
    def build(cls, settings: ControlPlaneSettings) -> Runtime:
        engine = make_engine(settings.database_url)
        digest: tuple[str, str] | None = None
        if settings.zookeeper_digest is not None:
            user, _, password = settings.zookeeper_digest.get_secret_value().partition(":")
            digest = (user, password)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            zk=ZkLinks(digest=digest),
            kafka=KafkaAdmin(),
        )

    def close(self) -> None:
        self.zk.close()
        self.engine.dispose()
