"""What a reconcile reads of the deployment: the directive and who is registered.

Every read re-arms the watches (``EventIntake.on_watch``) that tell the agent when to
read again; a read is always the whole picture, so acting on it is safe to repeat.
"""

from __future__ import annotations

from dataclasses import dataclass

from turnout.protocol import Colour, DeploymentPaths, Directive, InstanceRegistration
from turnout.zk import WatchCallback, ZkGateway


@dataclass(frozen=True)
class DeploymentRead:
    """The deployment as read in one reconcile."""

    directive: Directive | None
    #: (instance, colour) of every registered instance.
    registrations: tuple[tuple[str, Colour], ...]
    #: ``instances/``' children version at the read: orders two reads' member views.
    members_version: int
    #: ``instances/``' last child change (zxid): equal means the very same instance nodes.
    members_zxid: int = 0


def read_deployment(
    zk: ZkGateway,
    paths: DeploymentPaths,
    watch: WatchCallback,
    previous: DeploymentRead | None = None,
) -> DeploymentRead:
    """Read the directive and the registrations, re-arming their watches.

    One round trip when ``instances/`` has not changed since ``previous``: the zxid of
    its last child change moves with every create and delete under it, so an equal one
    means the very same instance nodes, whose registrations (colour) ``previous``
    already holds. A switch's reconcile therefore costs one round trip, not three."""
    directive_node, listed = zk.get_and_children(paths.directive, paths.instances, watch=watch)
    directive: Directive | None = None
    # A missing directive gets an exists watch (fires when it is created); created just
    # now, it is read.
    if directive_node is None and zk.exists(paths.directive, watch=watch) is not None:
        directive_node = zk.get(paths.directive, watch=watch)
    if directive_node is not None:
        directive = Directive.from_bytes(directive_node[0])
    if listed is None:
        zk.ensure_path(paths.instances)
        listed = zk.children_with_stat(paths.instances, watch=watch)
    names, stat = listed
    if previous is not None and previous.members_zxid == stat.children_zxid != 0:
        return DeploymentRead(
            directive, previous.registrations, stat.children_version, stat.children_zxid
        )
    found = zk.get_many([paths.instance(name) for name in names])
    registrations = []
    for name in names:
        node = found[paths.instance(name)]
        if node is None:
            continue  # left between the two reads; the children watch has fired
        registrations.append((name, InstanceRegistration.from_bytes(node[0]).colour))
    return DeploymentRead(
        directive, tuple(registrations), stat.children_version, stat.children_zxid
    )
