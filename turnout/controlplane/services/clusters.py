"""Clusters: where a deployment's Kafka and ZooKeeper are. Database only."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from turnout.controlplane.errors import ConflictError
from turnout.controlplane.models import Cluster, Deployment
from turnout.controlplane.queries import get_cluster
from turnout.controlplane.responses import cluster_public
from turnout.controlplane.schemas.clusters import ClusterCreate, ClusterPublic, ClusterUpdate
from turnout.controlplane.schemas.common import Page
from turnout.controlplane.services import audit


def read_cluster(session: Session, name: str) -> ClusterPublic:
    return cluster_public(get_cluster(session, name))


def list_clusters(session: Session, *, limit: int, offset: int) -> Page[ClusterPublic]:
    count = session.scalar(select(func.count()).select_from(Cluster)) or 0
    rows = session.scalars(select(Cluster).order_by(Cluster.name).limit(limit).offset(offset))
    return Page[ClusterPublic](data=[cluster_public(row) for row in rows], count=count)


def create_cluster(session: Session, *, body: ClusterCreate, actor: str) -> ClusterPublic:
    cluster = Cluster(**body.model_dump())
    session.add(cluster)
    audit.record(session, actor=actor, action="cluster.create", detail=body.model_dump())
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(f"a cluster named {body.name!r} already exists") from exc
    return cluster_public(cluster)


def update_cluster(
    session: Session, *, name: str, body: ClusterUpdate, actor: str
) -> ClusterPublic:
    cluster = get_cluster(session, name)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    for key, value in changes.items():
        setattr(cluster, key, value)
    audit.record(session, actor=actor, action="cluster.update", detail={"name": name, **changes})
    session.commit()
    return cluster_public(cluster)


def delete_cluster(session: Session, *, name: str, actor: str) -> None:
    cluster = get_cluster(session, name)
    used = session.scalar(
        select(func.count()).select_from(Deployment).where(Deployment.cluster_id == cluster.id)
    )
    if used:
        raise ConflictError(f"cluster {name!r} still has {used} deployment(s)")
    mirrored = session.scalar(
        select(func.count())
        .select_from(Deployment)
        .where(Deployment.mirror_target_cluster_id == cluster.id)
    )
    if mirrored:
        raise ConflictError(f"cluster {name!r} is the target of {mirrored} mirror(s)")
    session.delete(cluster)
    audit.record(session, actor=actor, action="cluster.delete", detail={"name": name})
    session.commit()
