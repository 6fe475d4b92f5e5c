"""Database reads that more than one service (or the leader loop) needs.

Each takes the caller's Session and joins its transaction; a ``for_update`` read locks
the row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already
serialises writers) and re-reads it, since an object already in the session may be stale.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from turnout.controlplane.domain.scope import DeploymentScope, visible_names
from turnout.controlplane.domain.switch_machine import IN_FLIGHT
from turnout.controlplane.errors import NotFoundError
from turnout.controlplane.models import Cluster, Deployment, Switch

_IN_FLIGHT_VALUES = [state.value for state in IN_FLIGHT]


def end_before_waiting(session: Session) -> None:
    """End ``session``'s transaction before waiting on ZooKeeper or Kafka, keeping what it
    loaded (sessions do not expire on commit; load relationships first).

    On SQLite a transaction that may write holds the database's one write lock from its
    first statement (``db.py``): a request that waits on the network inside one holds up
    every other writer for as long as the network takes. A later write begins a new,
    short transaction."""
    session.commit()


def get_cluster(session: Session, name: str) -> Cluster:
    cluster = session.scalar(select(Cluster).where(Cluster.name == name))
    if cluster is None:
        raise NotFoundError(f"no cluster named {name!r}")
    return cluster


def get_deployment(session: Session, name: str, *, for_update: bool = False) -> Deployment:
    query = select(Deployment).where(Deployment.name == name)
    if for_update:
        query = query.with_for_update(of=Deployment).execution_options(populate_existing=True)
    deployment = session.scalar(query)
    if deployment is None:
        raise NotFoundError(f"no deployment named {name!r}")
    return deployment


def visible_deployment_names(session: Session, scope: DeploymentScope | None) -> list[str] | None:
    """The deployments ``scope`` covers (None when unscoped: no filter at all)."""
    if scope is None:
        return None
    rows = session.execute(select(Deployment.name, Deployment.team))
    return visible_names(scope, ((name, team) for name, team in rows))


def deployment_names(session: Session) -> list[str]:
    return list(session.scalars(select(Deployment.name)))


def get_switch(session: Session, switch_id: str) -> Switch:
    switch = session.get(Switch, switch_id)
    if switch is None:
        raise NotFoundError(f"no switch {switch_id!r}")
    return switch


def lock_switch(session: Session, switch_id: str) -> Switch | None:
    """The switch re-read under a row lock, or None if it is gone."""
    return session.scalar(
        select(Switch)
        .where(Switch.id == switch_id)
        .with_for_update(of=Switch)
        .execution_options(populate_existing=True)
    )


def in_flight_switch(session: Session, deployment: Deployment) -> Switch | None:
    return session.scalar(
        select(Switch).where(
            Switch.deployment_id == deployment.id, Switch.state.in_(_IN_FLIGHT_VALUES)
        )
    )


def in_flight_switch_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Switch.id).where(Switch.state.in_(_IN_FLIGHT_VALUES))))


def last_switch(session: Session, deployment: Deployment) -> Switch | None:
    return session.scalar(
        select(Switch)
        .where(Switch.deployment_id == deployment.id)
        .order_by(Switch.requested_at.desc())
        .limit(1)
    )
