"""Offset reset of a binding's consumer group: a dry-run plan, then the reset.

The reset is executed only while no instance owns any of the partitions (no owner node
in ZooKeeper): an owner would keep committing its own position over ours. Make the
binding's colour standby (switch) or stop its instances first. The check and the write
are not atomic: an instance that claims a partition in between overwrites the reset
at its next commit; the audit log records what was set.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from turnout.controlplane.coordination import read_owners, zk_call
from turnout.controlplane.errors import ConflictError, InvalidError, UnavailableError
from turnout.controlplane.kafka_admin import TP, KafkaDownError, tp_key
from turnout.controlplane.runtime import Runtime
from turnout.controlplane.schemas import OffsetPlanItem, OffsetResetRequest, OffsetResetResult
from turnout.controlplane.services import audit
from turnout.controlplane.services.deployments import get_deployment, paths_of, require_zk
from turnout.controlplane.zklinks import ZkDownError
from turnout.protocol import PartitionRef


def reset_offsets(
    runtime: Runtime, session: Session, *, name: str, body: OffsetResetRequest, actor: str
) -> OffsetResetResult:
    deployment = get_deployment(session, name)
    binding = deployment.live if body.binding == "live" else deployment.preview
    if binding is None:
        raise InvalidError(f"deployment {name!r} has no preview binding")
    group, topics = binding["group"], binding["topics"]
    bootstrap = deployment.cluster.kafka_bootstrap
    kafka = runtime.kafka
    try:
        partitions = kafka.partitions(bootstrap, topics)
        if body.to == "explicit":
            assert body.offsets is not None  # validated by the schema
            wanted: dict[TP, int] = {}
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
        OffsetPlanItem(partition=tp_key(tp), current=current.get(tp), target=target)
        for tp, target in sorted(targets.items())
    ]
    if body.dry_run:
        return OffsetResetResult(executed=False, partitions=plan)
    link = require_zk(runtime, deployment.cluster.zookeeper_connect)
    try:
        owners = zk_call(link, lambda gateway: read_owners(gateway, paths_of(deployment), group))
    except ZkDownError as exc:
        raise UnavailableError(str(exc)) from exc
    owned = sorted(key for key in owners if key in {item.partition for item in plan})
    if owned:
        raise ConflictError(
            "partitions still owned, release them first: "
            + ", ".join(f"{key} by {owners[key].instance}" for key in owned)
        )
    try:
        kafka.alter_committed(bootstrap, group, targets)
    except KafkaDownError as exc:
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
