"""Putting a deployment's desired state (DB) into ZooKeeper as its directive.

``apply_directive`` is level-triggered and idempotent: it compares the directive in
ZooKeeper with the desired one and writes (compare-and-set, epoch + 1) only when they
differ. The request path and the reconciler both call it; whichever is first wins the
CAS and the other finds nothing left to do. Before writing it makes sure the
deployment's nodes exist with the ACLs of ``acl``: the agents' directories open to
everyone, or, when the deployment names its agents' ZooKeeper user, writable by that
user and the control plane only (``acl.deployment_writes``).
"""

from __future__ import annotations

import contextlib
import logging

from turnout.controlplane.coordination.acl import deployment_writes
from turnout.controlplane.coordination.connections import ZkConnection, ZkDownError
from turnout.controlplane.domain.desired_state import DesiredState, same_intent
from turnout.protocol import DeploymentPaths
from turnout.protocol.directives import DirectiveConflictError, DirectiveStore, VersionedDirective
from turnout.zk import (
    Acl,
    ZkError,
    ZkGateway,
    ZkNodeExistsError,
    ZkNoNodeError,
    ZkUnavailableError,
)

#: A directive write retries this often when a concurrent writer wins the CAS in between
#: (another replica, the reconciler). Each retry re-reads, so a handful always suffices
#: unless someone writes continuously, which is a conflict worth reporting.
CAS_ATTEMPTS = 5

log = logging.getLogger(__name__)


def agent_directories(paths: DeploymentPaths) -> list[str]:
    """Directories agents write under (see ``acl`` for who may)."""
    return [paths.instances, paths.statuses, paths.owners, paths.offsets, paths.assignments]


def directories_acl(connection: ZkConnection, agents_user: str | None) -> list[Acl] | None:
    """The ACL of the agents' directories: None (open) unless both the control plane and
    the deployment's agents have a ZooKeeper identity."""
    if agents_user is None or connection.security.acl_identity() is None:
        return None
    return deployment_writes(connection.security, agents_user)


#: Deployment nodes whose ACL this process has checked (or set), with the agents' user
#: they were checked for: a node's ACL can only be changed by an identity with ADMIN on
#: it, which after the check is the control plane's.
_protected: set[tuple[str, str, str | None]] = set()


def _protect(connection: ZkConnection, paths: DeploymentPaths, agents_user: str | None) -> None:
    """Give the deployment node and its directive the control plane's ACL if someone else
    created them (an agent started before the deployment was: its nodes are open, and an
    open parent lets anyone delete and recreate the directive); and the agents'
    directories theirs, when the deployment names its agents' user."""
    acl = connection.protected_acl
    key = (connection.connect, paths.base, agents_user)
    if acl is None or key in _protected:
        return
    wanted = {paths.base: acl, paths.directive: acl}
    restricted = directories_acl(connection, agents_user)
    if restricted is not None:
        wanted.update(dict.fromkeys(agent_directories(paths), restricted))

    def fix(gateway: ZkGateway) -> None:
        for path, path_acl in wanted.items():
            try:
                if gateway.get_acls(path) != path_acl:
                    log.warning("%s had another ACL; giving it the control plane's", path)
                    gateway.set_acls(path, path_acl)
            except ZkNoNodeError:
                continue

    connection.call(fix)
    _protected.add(key)


def ensure_layout(
    connection: ZkConnection, paths: DeploymentPaths, agents_user: str | None = None
) -> None:
    """Create the deployment's nodes with their ACLs (see ``acl``) if missing."""

    def missing(gateway: ZkGateway) -> list[str]:
        # One pipelined round trip: this runs before every directive write, a switch's
        # first step.
        found = gateway.exists_many([paths.base, *agent_directories(paths)])
        return [path for path, stat in found.items() if stat is None]

    absent = connection.call(missing)
    if paths.base not in absent:
        _protect(connection, paths, agents_user)
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
        with connection.open_session(directories_acl(connection, agents_user)) as opened:
            for path in agent_directories(paths):
                if opened.exists(path) is None:
                    with contextlib.suppress(ZkNodeExistsError):
                        opened.create(path)
    except ZkError as exc:
        raise ZkDownError(f"ZooKeeper at {connection.connect}: {exc}") from exc


def directive_in_step(
    connection: ZkConnection,
    paths: DeploymentPaths,
    desired: DesiredState,
    *,
    known_epoch: int,
    agents_user: str | None = None,
) -> bool:
    """True when ZooKeeper's directive already carries ``desired`` at an epoch no newer
    than ``known_epoch`` and the deployment's nodes exist: ``apply_directive`` would
    write nothing and the database would record nothing. Raises ZkDownError."""
    ensure_layout(connection, paths, agents_user)
    current = read_directive(connection, paths)
    return (
        current is not None
        and current.directive.epoch <= known_epoch
        and same_intent(current.directive, desired.directive(current.directive.epoch, None))
    )


def read_directive(connection: ZkConnection, paths: DeploymentPaths) -> VersionedDirective | None:
    return connection.call(lambda gateway: DirectiveStore(gateway, paths).read())


def apply_directive(
    connection: ZkConnection,
    paths: DeploymentPaths,
    desired: DesiredState,
    *,
    known_epoch: int,
    operation_id: str | None,
    agents_user: str | None = None,
) -> int:
    """Make ZooKeeper's directive carry ``desired``; return the epoch that does.

    ``known_epoch`` is the newest epoch the database remembers: a directive recreated
    after it vanished continues from there, so agents never see an epoch go back.
    Raises DirectiveConflictError when writers keep racing, ZkDownError when unreachable.
    ``agents_user``: the ZooKeeper user of the deployment's agents (see ``acl``).
    """
    ensure_layout(connection, paths, agents_user)

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
