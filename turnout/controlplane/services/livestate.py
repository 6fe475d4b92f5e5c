"""Live state of a deployment: instances and owners (ZooKeeper), offsets and lag (Kafka).

Either source may be down; the page then says which and why and shows what the other
one knows, rather than failing. Lag samples for the history and the Burrow-style status
come from the same reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from turnout.controlplane.coordination import Instance, read_instances, read_owners, zk_call
from turnout.controlplane.kafka_admin import KafkaDownError
from turnout.controlplane.lag import LagStatus, PartitionSample, Sample, deployment_status
from turnout.controlplane.models import Deployment, LagSample, utc_now
from turnout.controlplane.runtime import Runtime
from turnout.controlplane.schemas import (
    InstancePublic,
    LagHistory,
    LagPoint,
    PartitionPublic,
    StatePublic,
)
from turnout.controlplane.services.deployments import active_colour, link_of, paths_of
from turnout.controlplane.zklinks import ZkDownError
from turnout.protocol import Ownership
from turnout.protocol.partitions import PartitionId, partition_key
from turnout.zk import ZkGateway

#: Lag samples older than this are deleted; the history endpoint serves at most a day.
LAG_RETENTION = timedelta(hours=24)


@dataclass
class Reading:
    zookeeper: str = "ok"
    kafka: str = "ok"
    instances: list[Instance] = field(default_factory=list)
    owners: dict[str, dict[str, Ownership]] = field(default_factory=dict)  # binding → owners
    partitions: list[PartitionPublic] = field(default_factory=list)


def _bindings(deployment: Deployment) -> list[tuple[str, dict[str, object]]]:
    found: list[tuple[str, dict[str, object]]] = [("live", deployment.live)]
    if deployment.preview is not None:
        found.append(("preview", deployment.preview))
    return found


def read_state(runtime: Runtime, deployment: Deployment) -> Reading:
    reading = Reading()
    link = link_of(runtime, deployment)
    paths = paths_of(deployment)

    def from_zk(gateway: ZkGateway) -> None:
        reading.instances = read_instances(gateway, paths)
        for name, binding in _bindings(deployment):
            reading.owners[name] = read_owners(gateway, paths, str(binding["group"]))

    try:
        zk_call(link, from_zk)
    except ZkDownError as exc:
        reading.zookeeper = f"unreachable: {exc}"
        reading.instances, reading.owners = [], {}
    bootstrap = deployment.cluster.kafka_bootstrap
    for name, binding in _bindings(deployment):
        group = str(binding["group"])
        topics = [str(t) for t in binding["topics"]]  # type: ignore[attr-defined]
        owners = reading.owners.get(name, {})
        committed: dict[PartitionId, int | None] = {}
        ends: dict[PartitionId, int] = {}
        tps: list[PartitionId]
        try:
            tps = runtime.kafka.partitions(bootstrap, topics)
            committed = runtime.kafka.committed(bootstrap, group, tps)
            ends = runtime.kafka.end_offsets(bootstrap, tps)
        except KafkaDownError as exc:
            reading.kafka = f"unreachable: {exc}"
            tps = sorted(
                (key.rpartition("/")[0], int(key.rpartition("/")[2]))
                for key in owners
                if key.rpartition("/")[0] in topics
            )
        for tp in tps:
            owner = owners.get(partition_key(*tp))
            done, end = committed.get(tp), ends.get(tp)
            lag = None if end is None else max(0, end - (done or 0))
            reading.partitions.append(
                PartitionPublic(
                    binding="live" if name == "live" else "preview",
                    topic=tp[0],
                    partition=tp[1],
                    owner_instance=None if owner is None else owner.instance,
                    owner_colour=None if owner is None else owner.colour,
                    owner_epoch=None if owner is None else owner.epoch,
                    committed_offset=done,
                    end_offset=end,
                    lag=lag,
                )
            )
    return reading


def _sample_of(reading: Reading) -> dict[str, PartitionSample]:
    return {
        partition_key(p.topic, p.partition): PartitionSample(
            lag=p.lag or 0, committed=p.committed_offset, owned=p.owner_instance is not None
        )
        for p in reading.partitions
        if p.binding == "live" and p.lag is not None
    }


def _stored_samples(session: Session, deployment: Deployment, window_s: float) -> list[LagSample]:
    since = utc_now() - timedelta(seconds=window_s)
    return list(
        session.scalars(
            select(LagSample)
            .where(LagSample.deployment_id == deployment.id, LagSample.at >= since)
            .order_by(LagSample.at)
        )
    )


def _as_sample(row: LagSample) -> Sample:
    return {
        key: PartitionSample(
            lag=int(v["lag"]), committed=v.get("committed"), owned=bool(v["owned"])
        )
        for key, v in row.partitions.items()
    }


def live_state(runtime: Runtime, session: Session, deployment: Deployment) -> StatePublic:
    reading = read_state(runtime, deployment)
    samples = [
        _as_sample(row)
        for row in _stored_samples(session, deployment, runtime.settings.lag_window_s)
    ]
    current = _sample_of(reading)
    if current:
        samples.append(current)
    status = deployment_status(samples) if reading.kafka == "ok" else LagStatus.OK
    instances = [
        InstancePublic(
            instance=item.registration.instance,
            colour=item.registration.colour,
            version=item.registration.version,
            host=item.registration.host,
            pid=item.registration.pid,
            epoch=None if item.status is None else item.status.epoch,
            state="registered" if item.status is None else item.status.state,
            partitions=0 if item.status is None else len(item.status.owned),
            fenced=False if item.status is None else item.status.fenced,
            rate_per_s=None if item.status is None else item.status.counters.get("rate_per_s"),
            errors=0
            if item.status is None
            else int(item.status.counters.get("errors", len(item.status.errors))),
        )
        for item in reading.instances
    ]
    return StatePublic(
        deployment=deployment.name,
        epoch=deployment.epoch,
        active_colour=active_colour(deployment),
        paused=deployment.paused,
        zookeeper=reading.zookeeper,
        kafka=reading.kafka,
        instances=instances,
        partitions=reading.partitions,
        lag_total=sum(p.lag or 0 for p in reading.partitions if p.binding == "live"),
        lag_status=status.name,  # type: ignore[arg-type]
    )


def sample_lag(runtime: Runtime, session: Session, deployment: Deployment) -> bool:
    """Store one lag sample of the live binding; False when Kafka could not be read."""
    reading = read_state(runtime, deployment)
    if reading.kafka != "ok":
        return False
    current = _sample_of(reading)
    session.add(
        LagSample(
            deployment_id=deployment.id,
            at=utc_now(),
            total=sum(s.lag for s in current.values()),
            partitions={
                key: {"lag": s.lag, "committed": s.committed, "owned": s.owned}
                for key, s in current.items()
            },
        )
    )
    session.execute(
        delete(LagSample).where(
            LagSample.deployment_id == deployment.id, LagSample.at < utc_now() - LAG_RETENTION
        )
    )
    session.commit()
    return True


def lag_history(session: Session, deployment: Deployment, window_s: float) -> LagHistory:
    return LagHistory(
        points=[
            LagPoint(
                at=row.at,
                total=row.total,
                partitions={key: int(v["lag"]) for key, v in row.partitions.items()},
            )
            for row in _stored_samples(session, deployment, window_s)
        ]
    )
