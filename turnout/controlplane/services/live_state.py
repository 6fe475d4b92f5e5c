"""Live state of a deployment and its lag: the page, the stored samples, the history.

The page is one reading (``live_reading``) with a Burrow-style status judged over the
stored samples of the window plus this reading. The leader stores one sample per
``lag_sample_interval_s`` (``sample_lag``); a reading without Kafka stores nothing and
reports status OK, since lag that cannot be read says nothing about progress.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from turnout.controlplane.context import AppContext
from turnout.controlplane.domain.lag_status import (
    DeploymentSample,
    LagStatus,
    PartitionSample,
    deployment_status,
)
from turnout.controlplane.live_reading import CopiesSide, LiveReading, read_live
from turnout.controlplane.models import Deployment, LagSample, utc_now
from turnout.controlplane.queries import end_before_waiting
from turnout.controlplane.responses import lag_point, state_public
from turnout.controlplane.schemas.live_state import LagHistory, StatePublic
from turnout.protocol.crossing import MirrorSide
from turnout.protocol.partitions import partition_key

#: Lag samples older than this are deleted; the history endpoint serves at most a day.
LAG_RETENTION = timedelta(hours=24)


def sample_of(reading: LiveReading) -> dict[str, PartitionSample]:
    """The live binding's partitions whose lag is known, as one lag sample."""
    return {
        partition_key(*p.partition): PartitionSample(
            lag=p.lag, committed=p.committed_offset, owned=p.owner is not None
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


def _as_sample(row: LagSample) -> DeploymentSample:
    return {
        key: PartitionSample(
            lag=int(v["lag"]), committed=v.get("committed"), owned=bool(v["owned"])
        )
        for key, v in row.partitions.items()
    }


def _read_outside_the_transaction(
    context: AppContext, session: Session, deployment: Deployment
) -> LiveReading:
    """``read_live`` (ZooKeeper and Kafka, seconds when either is slow) with no database
    transaction open (``end_before_waiting``); the deployment's cluster is loaded first."""
    assert deployment.cluster is not None
    live_copies = _live_copies(session, deployment)
    end_before_waiting(session)
    return read_live(context, deployment, live_copies)


def _live_copies(session: Session, deployment: Deployment) -> CopiesSide | None:
    """Where the live colour consumes, when it runs across a mirror."""
    crossing = deployment.crossings().get(deployment.active_colour())
    if crossing is None or crossing.side is not MirrorSide.COPIES:
        return None
    mirror = session.scalar(select(Deployment).where(Deployment.name == crossing.mirror))
    spec = None if mirror is None else mirror.mirror_spec()
    if mirror is None or spec is None or mirror.mirror_target is None:
        return None  # kept from deletion while crossed (services.crossings)
    return CopiesSide(cluster=mirror.mirror_target, naming=spec.topic_naming())


def live_state(context: AppContext, session: Session, deployment: Deployment) -> StatePublic:
    reading = _read_outside_the_transaction(context, session, deployment)
    samples = [
        _as_sample(row)
        for row in _stored_samples(session, deployment, context.settings.lag_window_s)
    ]
    current = sample_of(reading)
    if current:
        samples.append(current)
    status = deployment_status(samples) if reading.kafka == "ok" else LagStatus.OK
    return state_public(deployment, reading, status)


def sample_lag(context: AppContext, session: Session, deployment: Deployment) -> bool:
    """Store one lag sample of the live binding; False when Kafka could not be read."""
    reading = _read_outside_the_transaction(context, session, deployment)
    if reading.kafka != "ok":
        return False
    current = sample_of(reading)
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
        points=[lag_point(row) for row in _stored_samples(session, deployment, window_s)]
    )
