"""One reading of a deployment's live state: instances and owners (ZooKeeper), partitions,
committed and end offsets (Kafka).

Either source may be down; the reading then says which and why and holds what the other
one knows, rather than failing: with Kafka down, the partitions are those that have an
owner node. The live-state page, the lag sampler and the event stream all start from a
reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from turnout.controlplane.context import AppContext
from turnout.controlplane.coordination.agent_reports import (
    RegisteredInstance,
    read_instances,
    read_owners,
)
from turnout.controlplane.coordination.connections import ZkDownError
from turnout.controlplane.kafka_admin import KafkaDownError
from turnout.controlplane.models import Cluster, Deployment
from turnout.protocol import Binding, Ownership
from turnout.protocol.mirror import TopicNaming
from turnout.protocol.partitions import PartitionId, parse_partition_key, partition_key
from turnout.zk import ZkGateway

BindingName = Literal["live", "preview"]


@dataclass(frozen=True)
class PartitionReading:
    binding: BindingName
    partition: PartitionId
    owner: Ownership | None
    committed_offset: int | None
    end_offset: int | None
    #: End offset minus committed offset (0 if nothing committed yet counts from 0);
    #: None when the end offset is unknown (Kafka down).
    lag: int | None


@dataclass
class LiveReading:
    #: ``"ok"`` or ``"unreachable: <reason>"``.
    zookeeper: str = "ok"
    kafka: str = "ok"
    instances: list[RegisteredInstance] = field(default_factory=list)
    #: Binding name → ``"topic/partition"`` → owner node.
    owners: dict[BindingName, dict[str, Ownership]] = field(default_factory=dict)
    partitions: list[PartitionReading] = field(default_factory=list)


def _bindings(deployment: Deployment) -> list[tuple[BindingName, Binding]]:
    found: list[tuple[BindingName, Binding]] = [("live", deployment.live_binding())]
    preview = deployment.preview_binding()
    if preview is not None:
        found.append(("preview", preview))
    return found


@dataclass(frozen=True)
class CopiesSide:
    """Where the live colour consumes when it runs across a mirror (cluster
    migration): the mirror's target cluster, each topic under its copy's name there,
    the same partition. Its commits and end offsets are read there; the partitions
    and their owners stay the deployment's own (ownership is keyed by them)."""

    cluster: Cluster
    naming: TopicNaming


def read_live(
    context: AppContext, deployment: Deployment, live_copies: CopiesSide | None = None
) -> LiveReading:
    """The reading; with ``live_copies``, the live binding's offsets are its copies'."""
    reading = LiveReading()
    paths = deployment.paths()
    bindings = _bindings(deployment)

    def from_zookeeper(gateway: ZkGateway) -> None:
        reading.instances = read_instances(gateway, paths)
        for name, binding in bindings:
            reading.owners[name] = read_owners(gateway, paths, binding.group)

    try:
        context.zookeeper_of(deployment.cluster).call(from_zookeeper)
    except ZkDownError as exc:
        reading.zookeeper = f"unreachable: {exc}"
        reading.instances, reading.owners = [], {}
    for name, binding in bindings:
        owners = reading.owners.get(name, {})
        committed: dict[PartitionId, int | None] = {}
        ends: dict[PartitionId, int] = {}
        tps: list[PartitionId]
        try:
            bootstrap = context.kafka_of(deployment.cluster)
            tps = context.kafka.binding_partitions(bootstrap, binding)
            if name == "live" and live_copies is not None:
                committed, ends = _offsets_of_copies(context, live_copies, binding.group, tps)
            else:
                committed = context.kafka.committed(bootstrap, binding.group, tps)
                ends = context.kafka.end_offsets(bootstrap, tps)
        except KafkaDownError as exc:
            reading.kafka = f"unreachable: {exc}"
            tps = sorted(
                tp for tp in (parse_partition_key(key) for key in owners) if binding.matches(tp[0])
            )
        for tp in tps:
            done, end = committed.get(tp), ends.get(tp)
            reading.partitions.append(
                PartitionReading(
                    binding=name,
                    partition=tp,
                    owner=owners.get(partition_key(*tp)),
                    committed_offset=done,
                    end_offset=end,
                    lag=None if end is None else max(0, end - (done or 0)),
                )
            )
    return reading


def _offsets_of_copies(
    context: AppContext, copies: CopiesSide, group: str, tps: list[PartitionId]
) -> tuple[dict[PartitionId, int | None], dict[PartitionId, int]]:
    """The group's commits and the end offsets of ``tps``' copies, keyed by ``tps``."""
    target = context.kafka_of(copies.cluster)
    copy_of = {(copies.naming.target_topic(t), p): (t, p) for t, p in tps}
    committed = context.kafka.committed(target, group, list(copy_of))
    ends = context.kafka.end_offsets(target, list(copy_of))
    return (
        {copy_of[tp]: offset for tp, offset in committed.items()},
        {copy_of[tp]: offset for tp, offset in ends.items()},
    )
