"""What agents write in ZooKeeper, as the control plane reads it: registered instances
with their status reports, and the owner nodes of a consumer group's partitions.

A node that vanishes between listing and reading, or holds data that is not ours, is
left out rather than failing the read: these nodes come and go with agent sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

from turnout.protocol import DeploymentPaths, InstanceRegistration, InstanceStatus, Ownership
from turnout.protocol.partitions import partition_key
from turnout.zk import ZkGateway, ZkNoNodeError


@dataclass(frozen=True)
class RegisteredInstance:
    registration: InstanceRegistration
    status: InstanceStatus | None


def read_instances(gateway: ZkGateway, paths: DeploymentPaths) -> list[RegisteredInstance]:
    found: list[RegisteredInstance] = []
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
        found.append(RegisteredInstance(registration, status))
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
