"""The request path's ZooKeeper step: a change is flushed to the database, written to
ZooKeeper, then committed; any ZooKeeper failure rolls the database back.

So the database never records an intent ZooKeeper refused, and the API answers 503
(ZooKeeper unreachable) or 409 (another writer kept winning the compare-and-set) with
the reason. Checking reachability first (``require_zookeeper``) answers 503 before any
change is made.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from turnout.controlplane.context import AppContext
from turnout.controlplane.coordination.connections import ZkConnection, ZkDownError
from turnout.controlplane.coordination.directives import apply_directive
from turnout.controlplane.errors import ConflictError, UnavailableError
from turnout.controlplane.models import Cluster, Deployment
from turnout.protocol.directives import DirectiveConflictError


def require_zookeeper(context: AppContext, cluster: Cluster) -> ZkConnection:
    """The cluster's connection if ZooKeeper is reachable now; 503 with the reason otherwise."""
    try:
        connection = context.zookeeper_of(cluster)
        connection.require()
    except ZkDownError as exc:
        raise UnavailableError(str(exc)) from exc
    return connection


def apply_desired_state(
    context: AppContext, deployment: Deployment, *, operation_id: str | None
) -> int:
    """Make the deployment's directive carry its desired state; the epoch in force.

    The raw step (``coordination.directives.apply_directive``): raises ZkDownError and
    DirectiveConflictError for the caller to turn into an answer, a retry or a failure.
    """
    return apply_directive(
        context.zookeeper_of(deployment.cluster),
        deployment.paths(),
        deployment.desired_state(),
        known_epoch=deployment.epoch,
        operation_id=operation_id,
        agents_user=deployment.zookeeper_user,
    )


def write_directive(
    context: AppContext, session: Session, deployment: Deployment, *, operation_id: str | None
) -> int:
    """Write the deployment's desired state (as flushed in ``session``) to ZooKeeper and
    return the epoch in force; on failure roll ``session`` back and raise 503 or 409."""
    try:
        epoch = apply_desired_state(context, deployment, operation_id=operation_id)
    except ZkDownError as exc:
        session.rollback()
        raise UnavailableError(str(exc)) from exc
    except DirectiveConflictError as exc:
        session.rollback()
        raise ConflictError(str(exc)) from exc
    deployment.epoch = max(deployment.epoch, epoch)
    return epoch
