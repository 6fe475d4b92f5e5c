"""Putting a deployment's desired state (DB) into ZooKeeper, and reading what agents report.

``apply_directive`` is level-triggered and idempotent: it compares the directive in
ZooKeeper with the desired one and writes (compare-and-set, epoch + 1) only when they
differ. The request path and the reconciler both call it; whichever is first wins the
CAS and the other finds nothing left to do.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from turnout.controlplane.zklinks import ZkDownError, ZkLink
from turnout.protocol import (
    Binding,
    Colour,
    DeploymentPaths,
    Directive,
    InstanceRegistration,
    InstanceStatus,
    Ownership,
    Role,
)
from turnout.protocol.directives import DirectiveConflictError, DirectiveStore, VersionedDirective
from turnout.protocol.models import AbsentPinPolicy, Strategy
from turnout.protocol.partitions import partition_key
from turnout.zk import (
    ZkError,
    ZkGateway,
    ZkNoAuthError,
    ZkNodeExistsError,
    ZkNoNodeError,
    ZkUnavailableError,
)

T = TypeVar("T")

#: A directive write retries this often when a concurrent writer wins the CAS in between
#: (another replica, the reconciler). Each retry re-reads, so a handful always suffices
#: unless someone writes continuously, which is a conflict worth reporting.
CAS_ATTEMPTS = 5

#: Fields that make up intent; epoch, written_at and operation_id only describe a write.
_BOOKKEEPING = {"epoch", "written_at", "operation_id"}

log = logging.getLogger(__name__)


def agent_directories(paths: DeploymentPaths) -> list[str]:
    """Directories agents write under; open to everyone (see zk_acl)."""
    return [paths.instances, paths.statuses, paths.owners, paths.offsets, paths.assignments]


@dataclass(frozen=True)
class DesiredState:
    deployment: str
    live: Binding
    preview: Binding | None
    roles: dict[Colour, Role]
    strategy: Strategy
    pins: dict[str, str]
    absent_pin_policy: AbsentPinPolicy
    paused: bool
    drain_timeout_ms: int

    def directive(self, epoch: int, operation_id: str | None) -> Directive:
        return Directive(
            epoch=epoch,
            deployment=self.deployment,
            live=self.live,
            preview=self.preview,
            roles=self.roles,
            strategy=self.strategy,
            pins=self.pins,
            absent_pin_policy=self.absent_pin_policy,
            paused=self.paused,
            drain_timeout_ms=self.drain_timeout_ms,
            operation_id=operation_id,
        )


def same_intent(a: Directive, b: Directive) -> bool:
    return a.model_dump(exclude=_BOOKKEEPING) == b.model_dump(exclude=_BOOKKEEPING)


def zk_call(link: ZkLink, action: Callable[[ZkGateway], T]) -> T:
    """Run ``action`` on the link's session; every ZooKeeper failure becomes ZkDownError.

    Callers decide between 503 (unreachable) and a domain error; an unexpected kazoo
    error (e.g. missing permissions) is reported with its type, never as a 500.
    """
    gateway = link.require()
    try:
        return action(gateway)
    except ZkUnavailableError as exc:
        raise ZkDownError(f"ZooKeeper at {link.connect}: {exc}") from exc
    except ZkNoAuthError as exc:
        # Our identity lacks a permission (ACLs set by another control plane?): the
        # request cannot succeed until an operator fixes it; say so, never a 500.
        raise ZkDownError(f"ZooKeeper at {link.connect} refused the request (ACL): {exc}") from exc
    except ZkError as exc:
        if type(exc) is ZkError:  # a failure the gateway has no kind for
            raise ZkDownError(f"ZooKeeper at {link.connect} refused the request: {exc}") from exc
        raise  # NoNode, NodeExists, BadVersion...: the caller's to handle


#: Deployment nodes whose ACL this process has checked (or set): a node's ACL can only be
#: changed by an identity with ADMIN on it, which after the check is the control plane's.
_protected: set[tuple[str, str]] = set()


def _protect(link: ZkLink, paths: DeploymentPaths) -> None:
    """Give the deployment node and its directive the control plane's ACL if someone else
    created them (an agent started before the deployment was: its nodes are open, and an
    open parent lets anyone delete and recreate the directive)."""
    acl = link.protected_acl
    if acl is None or (link.connect, paths.base) in _protected:
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

    zk_call(link, fix)
    _protected.add((link.connect, paths.base))


def ensure_layout(link: ZkLink, paths: DeploymentPaths) -> None:
    """Create the deployment's nodes with their ACLs (see zk_acl) if missing."""

    def missing(gateway: ZkGateway) -> list[str]:
        # One pipelined round trip: this runs before every directive write, a switch's
        # first step.
        found = gateway.exists_many([paths.base, *agent_directories(paths)])
        return [path for path, stat in found.items() if stat is None]

    absent = zk_call(link, missing)
    if paths.base not in absent:
        _protect(link, paths)
    if not absent:
        return
    parent = paths.base.rsplit("/", 1)[0]
    try:
        with link.open_session() as opened:
            opened.ensure_path(parent)
    except ZkError as exc:
        raise ZkDownError(f"ZooKeeper at {link.connect}: {exc}") from exc
    if paths.base in absent:

        def create_base(gateway: ZkGateway) -> None:
            with contextlib.suppress(ZkNodeExistsError):
                gateway.create(paths.base)

        zk_call(link, create_base)
    try:
        with link.open_session() as opened:
            for path in agent_directories(paths):
                if opened.exists(path) is None:
                    with contextlib.suppress(ZkNodeExistsError):
                        opened.create(path)
    except ZkError as exc:
        raise ZkDownError(f"ZooKeeper at {link.connect}: {exc}") from exc


def read_directive(link: ZkLink, paths: DeploymentPaths) -> VersionedDirective | None:
    return zk_call(link, lambda gateway: DirectiveStore(gateway, paths).read())


def apply_directive(
    link: ZkLink,
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
    ensure_layout(link, paths)

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
        epoch = zk_call(link, attempt)
        if epoch is not None:
            return epoch
    raise DirectiveConflictError(
        f"{paths.directive} kept changing under {CAS_ATTEMPTS} compare-and-set attempts"
    )


def delete_directive(link: ZkLink, paths: DeploymentPaths) -> None:
    def delete(gateway: ZkGateway) -> None:
        with contextlib.suppress(ZkNoNodeError):
            gateway.delete(paths.directive)

    zk_call(link, delete)


# ---- observed state ---------------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    registration: InstanceRegistration
    status: InstanceStatus | None


def read_instances(gateway: ZkGateway, paths: DeploymentPaths) -> list[Instance]:
    found: list[Instance] = []
    try:
        names = gateway.children(paths.instances)
    except ZkNoNodeError:
        return []
    for name in names:
        try:
            data, _ = gateway.get(f"{paths.instances}/{name}")
            registration = InstanceRegistration.from_bytes(data)
        except (ZkNoNodeError, ValueError):
            continue  # gone since listed, or not ours: not an instance to show
        status: InstanceStatus | None
        try:
            raw, _ = gateway.get(f"{paths.statuses}/{name}")
            status = InstanceStatus.from_bytes(raw)
        except (ZkNoNodeError, ValueError):
            status = None
        found.append(Instance(registration, status))
    return found


def read_owners(gateway: ZkGateway, paths: DeploymentPaths, group: str) -> dict[str, Ownership]:
    """``"topic/partition"`` → owner node of every owned partition of ``group``.

    The owner nodes are read with their requests pipelined: the switch watcher does this
    every ``switch_poll_interval_s`` while a switch runs, and one round trip per
    partition would load ZooKeeper and the CPU the agents' handover is waiting for."""
    base = f"{paths.owners}/{group}"
    try:
        topics = gateway.children(base)
    except ZkNoNodeError:
        return {}
    keys: list[str] = []
    for topic in topics:
        try:
            keys.extend(
                partition_key(topic, int(p))
                for p in gateway.children(f"{base}/{topic}")
                if p.isdigit()
            )
        except ZkNoNodeError:
            continue
    found = gateway.get_many([f"{base}/{key}" for key in keys])
    owners: dict[str, Ownership] = {}
    for key in keys:
        node = found[f"{base}/{key}"]
        if node is None:
            continue  # released between the listing and the read
        try:
            owners[key] = Ownership.from_bytes(node[0])
        except ValueError:
            continue
    return owners
