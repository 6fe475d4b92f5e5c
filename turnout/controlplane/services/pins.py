"""Manual assignment (pins): a preview of the moves, then the write (new epoch).

The preview runs ``turnout.protocol.assignment.compute_assignment``, the function the
agents run, on what ZooKeeper and Kafka show now (members: registered instances of the
live colour; partitions: the live binding's), so it shows exactly the moves the agents
will make for the same inputs.

Pins only mean something under the manual strategy, so writing a non-empty set of pins
switches the deployment's strategy to ``manual``; clearing the pins leaves it as it is.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from turnout.controlplane.context import AppContext
from turnout.controlplane.coordination.agent_reports import read_instances, read_owners
from turnout.controlplane.coordination.connections import ZkDownError
from turnout.controlplane.errors import ConflictError, InvalidError, UnavailableError
from turnout.controlplane.kafka_admin import KafkaDownError
from turnout.controlplane.models import Deployment
from turnout.controlplane.queries import end_before_waiting, get_deployment, in_flight_switch
from turnout.controlplane.schemas.pins import MovePublic, PinsPreview, PinsRequest
from turnout.controlplane.services import audit
from turnout.controlplane.services.directive_writes import require_zookeeper, write_directive
from turnout.protocol import PartitionRef, Strategy
from turnout.protocol.assignment import compute_assignment, moves
from turnout.protocol.partitions import PartitionId, partition_key
from turnout.zk import ZkGateway


def _live_partitions(context: AppContext, deployment: Deployment) -> list[PartitionId]:
    try:
        return context.kafka.binding_partitions(
            context.kafka_of(deployment.cluster), deployment.live_binding()
        )
    except KafkaDownError as exc:
        raise UnavailableError(str(exc)) from exc


def _check_pins_exist(pins: dict[str, str], partitions: list[PartitionId]) -> None:
    known = {partition_key(*tp) for tp in partitions}
    unknown = sorted(key for key in pins if key not in known)
    if unknown:
        raise InvalidError(
            "pins name partitions the live binding does not have: " + ", ".join(unknown)
        )


def preview_pins(
    context: AppContext, session: Session, *, name: str, body: PinsRequest
) -> PinsPreview:
    deployment = get_deployment(session, name)
    assert deployment.cluster is not None  # loaded before the transaction ends
    end_before_waiting(session)  # a preview writes nothing
    connection = require_zookeeper(context, deployment.cluster)
    partitions = _live_partitions(context, deployment)
    _check_pins_exist(body.pins, partitions)
    colour = deployment.active_colour()
    paths = deployment.paths()

    def read(gateway: ZkGateway) -> tuple[list[str], dict[PartitionId, str]]:
        members = [
            i.registration.instance
            for i in read_instances(gateway, paths)
            if i.registration.colour == colour
        ]
        owners = read_owners(gateway, paths, deployment.live["group"])
        current: dict[PartitionId, str] = {}
        for key, owner in owners.items():
            ref = PartitionRef.parse(key)
            current[(ref.topic, ref.partition)] = owner.instance
        return members, current

    try:
        members, current = connection.call(read)
    except ZkDownError as exc:
        raise UnavailableError(str(exc)) from exc
    pins = {(ref.topic, ref.partition): inst for ref, inst in _parsed(body.pins)}
    strategy = Strategy.MANUAL if pins else Strategy(deployment.strategy)
    result = compute_assignment(
        strategy,
        members,
        partitions,
        previous=current,
        pins=pins,
        absent_pin_policy=body.absent_pin_policy,
    )
    return PinsPreview(
        moves=[
            MovePublic(
                partition=partition_key(*m.tp),
                from_instance=m.previous_owner,
                to_instance=m.new_owner,
            )
            for m in moves(current, result.owners)
        ],
        unowned=[partition_key(*tp) for tp in result.unowned],
    )


def _parsed(pins: dict[str, str]) -> list[tuple[PartitionRef, str]]:
    return [(PartitionRef.parse(key), instance) for key, instance in pins.items()]


def put_pins(
    context: AppContext, session: Session, *, name: str, body: PinsRequest, actor: str
) -> Deployment:
    deployment = get_deployment(session, name, for_update=True)
    require_zookeeper(context, deployment.cluster)
    running = in_flight_switch(session, deployment)
    if running is not None:
        raise ConflictError(f"switch {running.id} of {name!r} is in flight; pin after it ends")
    if body.pins:
        _check_pins_exist(body.pins, _live_partitions(context, deployment))
        deployment.strategy = Strategy.MANUAL.value
    deployment.pins = dict(body.pins)
    deployment.absent_pin_policy = body.absent_pin_policy.value
    session.flush()
    epoch = write_directive(context, session, deployment, operation_id=None)
    audit.record(
        session,
        actor=actor,
        action="pins.put",
        deployment=name,
        detail={**body.model_dump(mode="json"), "epoch": epoch},
    )
    session.commit()
    return deployment
