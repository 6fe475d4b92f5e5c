"""Offset reset of a binding's consumer group: a dry-run plan, then the reset.

The reset is executed only while no instance owns any of the partitions: an owner
would keep committing its own position over ours. Make the binding's colour standby
(switch) or stop its instances first. The control plane then *holds* the partitions
while it writes: it creates their owner nodes itself, all in one ZooKeeper multi (which
fails, answered 409 with the owners, if any partition is owned), on a session of its
own, writes the offsets, and closes that session, which deletes the nodes. An agent
that wants a partition meanwhile finds it held and waits for the node to go, like any
handover, then starts from the new offset. A control plane that dies mid-reset frees
the partitions when its session expires.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from turnout.controlplane.context import AppContext
from turnout.controlplane.coordination.agent_reports import read_owners
from turnout.controlplane.coordination.connections import ZkConnection, ZkDownError
from turnout.controlplane.coordination.directives import directories_acl
from turnout.controlplane.errors import ConflictError, InvalidError, UnavailableError
from turnout.controlplane.kafka_admin import KafkaDownError
from turnout.controlplane.queries import end_before_waiting, get_deployment
from turnout.controlplane.schemas.offsets import (
    OffsetPlanItem,
    OffsetResetRequest,
    OffsetResetResult,
)
from turnout.controlplane.services import audit
from turnout.controlplane.services.directive_writes import require_zookeeper
from turnout.protocol import Binding, DeploymentPaths, PartitionRef
from turnout.protocol.partitions import PartitionId, partition_key
from turnout.zk import Acl, CreateOp, ZkError, ZkTransactionError

#: The data of an owner node the control plane holds during a reset: not an Ownership
#: (no instance owns the partition), so live state shows the partition unowned.
RESET_HOLD = b'{"held_by": "turnout-controlplane", "for": "offset reset"}'


def reset_offsets(
    context: AppContext, session: Session, *, name: str, body: OffsetResetRequest, actor: str
) -> OffsetResetResult:
    deployment = get_deployment(session, name)
    binding = deployment.live_binding() if body.binding == "live" else deployment.preview_binding()
    if binding is None:
        raise InvalidError(f"deployment {name!r} has no preview binding")
    if deployment.crossings():
        # Each colour commits on its own cluster and a claim takes the newer of the two
        # (docs/mirror.md): a reset of one cluster's commits would be half a reset.
        raise ConflictError(
            f"a colour of {name!r} consumes a mirror's copies on another cluster: its "
            "group commits on both; bring it back (colours.<colour>.via_mirror null) "
            "before resetting offsets"
        )
    group = binding.group
    assert deployment.cluster is not None  # loaded before the transaction ends
    # The plan's reads, the hold and the reset wait on Kafka and ZooKeeper; the audit
    # record after them is a short transaction of its own.
    end_before_waiting(session)
    kafka = context.kafka
    try:
        bootstrap = context.kafka_of(deployment.cluster)
        partitions = kafka.binding_partitions(bootstrap, binding)
        if not partitions:
            # Nothing to plan or reset (and Kafka refuses an empty reset): say why.
            raise InvalidError(
                f"the {body.binding} binding of {name!r} has no partitions on cluster "
                f"{deployment.cluster.name!r}: {_none_exists(binding)}"
            )
        if body.to == "explicit":
            assert body.offsets is not None  # validated by the schema
            wanted: dict[PartitionId, int] = {}
            known = set(partitions)
            for key, offset in body.offsets.items():
                ref = PartitionRef.parse(key)
                if (ref.topic, ref.partition) not in known:
                    raise InvalidError(f"{key} is not a partition of the {body.binding} binding")
                wanted[(ref.topic, ref.partition)] = offset
            targets = wanted
        elif body.to == "earliest":
            targets = kafka.earliest_offsets(bootstrap, partitions)
        elif body.to == "latest":
            targets = kafka.end_offsets(bootstrap, partitions)
        else:
            assert body.timestamp_ms is not None  # validated by the schema
            targets = kafka.offsets_for_time(bootstrap, partitions, body.timestamp_ms)
        current = kafka.committed(bootstrap, group, targets)
    except KafkaDownError as exc:
        raise UnavailableError(str(exc)) from exc
    plan = [
        OffsetPlanItem(partition=partition_key(*tp), current=current.get(tp), target=target)
        for tp, target in sorted(targets.items())
    ]
    if body.dry_run:
        return OffsetResetResult(executed=False, partitions=plan)
    connection = require_zookeeper(context, deployment.cluster)
    try:
        _while_holding(
            connection,
            deployment.paths(),
            group,
            list(targets),
            lambda: kafka.alter_committed(bootstrap, group, targets),
            directories_acl(connection, deployment.zookeeper_user),
        )
    except (ZkDownError, KafkaDownError) as exc:
        raise UnavailableError(str(exc)) from exc
    audit.record(
        session,
        actor=actor,
        action="offsets.reset",
        deployment=name,
        detail={
            **body.model_dump(mode="json"),
            "plan": [item.model_dump() for item in plan],
        },
    )
    session.commit()
    return OffsetResetResult(executed=True, partitions=plan)


def _none_exists(binding: Binding) -> str:
    """Why a binding has no partitions: none of its topics exists (yet)."""
    listed = f"no topic of {', '.join(binding.topics)} exists" if binding.topics else ""
    if binding.topic_pattern is None:
        return listed
    matched = f"no topic matches {binding.topic_pattern}"
    return f"{listed} and {matched}" if listed else matched


def _while_holding(
    connection: ZkConnection,
    paths: DeploymentPaths,
    group: str,
    tps: list[PartitionId],
    action: Callable[[], None],
    acl: list[Acl] | None,
) -> None:
    """Run ``action`` while this control plane owns the owner nodes of ``tps`` (see the
    module docstring); ConflictError naming the owners if any partition is owned."""
    nodes = [paths.owner(group, topic, partition) for topic, partition in tps]
    try:
        with connection.open_session(acl) as held:
            for parent in sorted({node.rpartition("/")[0] for node in nodes}):
                held.ensure_path(parent)  # with the ACL of the agents' directories
            try:
                held.transaction([CreateOp(node, RESET_HOLD, ephemeral=True) for node in nodes])
            except ZkTransactionError as exc:
                owners = read_owners(held, paths, group)
                wanted = {partition_key(*tp) for tp in tps}
                owned = sorted(key for key in owners if key in wanted)
                raise ConflictError(
                    "partitions still owned, release them first: "
                    + ", ".join(f"{key} by {owners[key].instance}" for key in owned)
                    if owned
                    else f"partitions changed owner while the reset began: {exc}"
                ) from exc
            action()
            # Closing the session deletes the nodes: the partitions are free again.
    except ZkError as exc:
        raise ZkDownError(f"ZooKeeper at {connection.connect}: {exc}") from exc
