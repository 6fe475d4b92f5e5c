"""The reconciler's step: make one deployment's directive in ZooKeeper match the database.

Level-triggered: whatever happened to the directive (deleted, overwritten, written by a
replica that died before recording the epoch), one pass writes the desired state again
if it differs and records the epoch in force.

A pass first compares with no database transaction open (on SQLite a transaction that
may write holds the one write lock, ``db.py``, and ZooKeeper may take seconds to
answer): a directive in step, the usual case, costs the database nothing. Only one that
differs is written with the row locked, re-read, as requests do, so a request changing
the deployment meanwhile waits and a stale reading is never written over its newer
directive.
"""

from __future__ import annotations

import logging

from turnout.controlplane.context import AppContext
from turnout.controlplane.coordination.connections import ZkDownError
from turnout.controlplane.coordination.directives import directive_in_step
from turnout.controlplane.errors import NotFoundError
from turnout.controlplane.queries import get_deployment, in_flight_switch
from turnout.controlplane.services.directive_writes import apply_desired_state
from turnout.protocol.directives import DirectiveConflictError

log = logging.getLogger(__name__)


def reconcile_deployment(context: AppContext, name: str) -> bool:
    """Re-apply deployment ``name``'s desired state; True if the epoch in force moved.

    A deployment deleted meanwhile, an unreachable ZooKeeper or a lost compare-and-set
    race is skipped (logged) until the next pass.
    """
    with context.read_sessions() as reading:
        try:
            deployment = get_deployment(reading, name)
        except NotFoundError:
            return False
        connection = context.zookeeper_of(deployment.cluster)
        paths = deployment.paths()
        desired = deployment.desired_state()
        known_epoch = deployment.epoch
        agents_user = deployment.zookeeper_user
    try:
        if directive_in_step(
            connection, paths, desired, known_epoch=known_epoch, agents_user=agents_user
        ):
            return False
    except ZkDownError as exc:
        log.warning("reconcile %s: %s", name, exc)
        return False
    with context.sessions() as session:
        try:
            deployment = get_deployment(session, name, for_update=True)
        except NotFoundError:
            return False
        running = in_flight_switch(session, deployment)
        try:
            epoch = apply_desired_state(
                context, deployment, operation_id=None if running is None else running.id
            )
        except (ZkDownError, DirectiveConflictError) as exc:
            log.warning("reconcile %s: %s", name, exc)
            return False
        if epoch <= deployment.epoch:
            return False
        # ZooKeeper differed from the DB (or a replica died before recording the epoch
        # it wrote): either way the DB now knows the epoch in force.
        context.metrics.reconciled.inc()
        deployment.epoch = epoch
        session.commit()
        return True
