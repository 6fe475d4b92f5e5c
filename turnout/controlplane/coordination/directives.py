"""Putting a deployment's desired state (DB) into ZooKeeper as its directive.

``apply_directive`` is level-triggered and idempotent: it compares the directive in
ZooKeeper with the desired one and writes (compare-and-set, epoch + 1) only when they
differ. The request path and the reconciler both call it; whichever is first wins the
CAS and the other finds nothing left to do. Before writing it makes sure the
deployment's nodes exist with the ACLs of ``acl``.
"""

from __future__ import annotations

import contextlib
import logging

from turnout.controlplane.coordination.connections import ZkConnection, ZkDownError
from turnout.controlplane.domain.desired_state import DesiredState, same_intent
from turnout.protocol import DeploymentPaths
from turnout.protocol.directives import DirectiveConflictError, DirectiveStore, VersionedDirective
from turnout.zk import ZkError, ZkGateway, ZkNodeExistsError, ZkNoNodeError, ZkUnavailableError

#: A directive write retries this often when a concurrent writer wins the CAS in between
#: (another replica, the reconciler). Each retry re-reads, so a handful always suffices
#: unless someone writes continuously, which is a conflict worth reporting.
CAS_ATTEMPTS = 5

log = logging.getLogger(__name__)


def agent_directories(paths: DeploymentPaths) -> list[str]:
    """Directories agents write under; open to everyone (see ``acl``)."""
    return [paths.instances, paths.statuses, paths.owners, paths.offsets, paths.assignments]


#: Deployment nodes whose ACL this process has checked (or set): a node's ACL can only be
#: changed by an identity with ADMIN on it, which after the check is the control plane's.
_protected: set[tuple[str, str]] = set()


def _protect(connection: ZkConnection, paths: DeploymentPaths) -> None:
    """Give the deployment node and its directive the control plane's ACL if someone else
    created them (an agent started before the deployment was: its nodes are open, and an
    open parent lets anyone delete and recreate the directive)."""
    acl = connection.protected_acl
    if acl is None or (connection.connect, paths.base) in _protected:
        return

    def fix(gateway: ZkGateway) -> None:
        for path in (paths.base, paths.directive):
            try:
                if gateway.get_acls(path) != acl:
                    log.warning(
                        "%s was open to everyone; restricting it to the control plane", path
                    )
                    gateway.set_acls(path, acl)
            except ZkNoNodeError:
                continue

    connection.call(fix)
    _protected.add((connection.connect, paths.base))


def ensure_layout(connection: ZkConnection, paths: DeploymentPaths) -> None:
    """Create the deployment's nodes with their ACLs (see ``acl``) if missing."""

    def missing(gateway: ZkGateway) -> list[str]:
        # One pipelined round trip: this runs before every directive write, a switch's
        # first step.
        found = gateway.exists_many([paths.base, *agent_directories(paths)])
        return [path for path, stat in found.items() if stat is None]

    absent = connection.call(missing)
    if paths.base not in absent:
        _protect(connection, paths)
    if not absent:
        return
    parent = paths.base.rsplit("/", 1)[0]
    try:
        with connection.open_session() as opened:
            opened.ensure_path(parent)
    except ZkError as exc:
        raise ZkDownError(f"ZooKeeper at {connection.connect}: {exc}") from exc
    if paths.base in absent:

        def create_base(gateway: ZkGateway) -> None:
            with contextlib.suppress(ZkNodeExistsError):
                gateway.create(paths.base)

        connection.call(create_base)
    try:
        with connection.open_session() as opened:
            for path in agent_directories(paths):
                if opened.exists(path) is None:
                    with contextlib.suppress(ZkNodeExistsError):
                        opened.create(path)
    except ZkError as exc:
        raise ZkDownError(f"ZooKeeper at {connection.connect}: {exc}") from exc


def read_directive(connection: ZkConnection, paths: DeploymentPaths) -> VersionedDirective | None:
    return connection.call(lambda gateway: DirectiveStore(gateway, paths).read())


def apply_directive(
    connection: ZkConnection,
    paths: DeploymentPaths,
    desired: DesiredState,
    *,
    known_epoch: int,
    operation_id: str | None,
) -> int:
    """Make ZooKeeper's directive carry ``desired``; return the epoch that does.

    ``known_epoch`` is the newest epoch the database remembers: a directive recreated
    after it vanished continues from there, so agents never see an epoch go back.
    Raises DirectiveConflictError when writers keep racing, ZkDownError when unreachable.
    """
    ensure_layout(connection, paths)

    def attempt(gateway: ZkGateway) -> int | None:
        store = DirectiveStore(gateway, paths)
        current = store.read()
        if current is None:
            epoch = known_epoch + 1
            try:
                gateway.create(paths.directive, desired.directive(epoch, operation_id).to_bytes())
            except ZkNodeExistsError:
                return None
            return epoch
        if same_intent(current.directive, desired.directive(current.directive.epoch, None)):
            return current.directive.epoch
        epoch = max(current.directive.epoch, known_epoch) + 1
        try:
            if epoch == current.directive.epoch + 1:
                store.replace(current, desired.directive(epoch, operation_id))
            else:
                # ZooKeeper lost epochs the DB remembers (restored snapshot): jump ahead,
                # still conditional on the version read.
                gateway.set(
                    paths.directive,
                    desired.directive(epoch, operation_id).to_bytes(),
                    version=current.version,
                )
        except DirectiveConflictError:
            return None
        except ZkError as exc:
            if isinstance(exc, ZkUnavailableError):
                raise
            return None
        return epoch

    for _ in range(CAS_ATTEMPTS):
        epoch = connection.call(attempt)
        if epoch is not None:
            return epoch
    raise DirectiveConflictError(
        f"{paths.directive} kept changing under {CAS_ATTEMPTS} compare-and-set attempts"
    )


def delete_directive(connection: ZkConnection, paths: DeploymentPaths) -> None:
    def delete(gateway: ZkGateway) -> None:
        with contextlib.suppress(ZkNoNodeError):
            gateway.delete(paths.directive)

    connection.call(delete)
