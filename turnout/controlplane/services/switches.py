"""Switch and rollback: store the intent, write the directive, follow it to the end.

The request path (``request_switch``) stores the switch row and the new roles in one
transaction (the intent), writes the directive with the switch's id as operation id,
then records ``directive_written``. The leader's watcher (``advance_switch``) observes
owner nodes and moves the switch through the state machine (switch_machine) until it
completes, fails or times out. Either side may die at any point: the watcher finishes
what the request path started (a ``pending`` switch gets its directive written), and
every step is a compare-the-state-then-write transaction, so running it twice is harmless.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from turnout.controlplane.coordination import apply_directive, read_owners, zk_call
from turnout.controlplane.errors import ConflictError, NotFoundError, UnavailableError
from turnout.controlplane.models import Deployment, Switch, utc_now
from turnout.controlplane.runtime import Runtime
from turnout.controlplane.schemas import Page, PhasePublic, SwitchPublic
from turnout.controlplane.services import audit
from turnout.controlplane.services.deployments import (
    active_colour,
    desired_state,
    get_deployment,
    in_flight_switch,
    last_switch,
    link_of,
    paths_of,
    require_zk,
    roles_of,
)
from turnout.controlplane.switch_machine import (
    IN_FLIGHT,
    Observation,
    Step,
    SwitchState,
    advance_phases,
    directive_written,
    fail,
    initial_phases,
    observe,
)
from turnout.controlplane.zklinks import ZkDownError
from turnout.protocol import Colour, Role
from turnout.protocol.directives import DirectiveConflictError, DirectiveStore
from turnout.protocol.partitions import PartitionId
from turnout.zk import ZkGateway

log = logging.getLogger(__name__)

#: A pending switch younger than this belongs to the request that is writing its
#: directive right now; the watcher leaves it alone. Older ones were orphaned by a crash
#: (or a very slow ZooKeeper) and the watcher writes the directive itself.
PENDING_GRACE_S = 5.0


def _iso(at: datetime) -> str:
    return at.isoformat()


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def switch_public(switch: Switch) -> SwitchPublic:
    phases: list[PhasePublic] = []
    for record in switch.phases:
        started, ended = _parse(record["started_at"]), _parse(record["ended_at"])
        duration = (
            None
            if started is None or ended is None
            else round((ended - started).total_seconds() * 1000)
        )
        phases.append(
            PhasePublic(
                name=record["name"], started_at=started, ended_at=ended, duration_ms=duration
            )
        )
    return SwitchPublic(
        id=switch.id,
        deployment=switch.deployment.name,
        kind="rollback" if switch.kind == "rollback" else "switch",
        from_colour=Colour(switch.from_colour),
        to_colour=Colour(switch.to_colour),
        epoch=switch.epoch,
        state=SwitchState(switch.state),
        reason=switch.reason,
        requested_by=switch.requested_by,
        requested_at=switch.requested_at,
        finished_at=switch.finished_at,
        timeout_s=switch.timeout_s,
        phases=phases,
    )


def get_switch(session: Session, switch_id: str) -> Switch:
    switch = session.get(Switch, switch_id)
    if switch is None:
        raise NotFoundError(f"no switch {switch_id!r}")
    return switch


def list_switches(
    session: Session,
    *,
    deployment: str | None,
    state: SwitchState | None,
    limit: int,
    offset: int,
) -> Page[SwitchPublic]:
    query = select(Switch)
    if deployment is not None:
        query = query.join(Deployment).where(Deployment.name == deployment)
    if state is not None:
        query = query.where(Switch.state == state.value)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Switch.requested_at.desc()).limit(limit).offset(offset)
    ).all()
    return Page[SwitchPublic](data=[switch_public(row) for row in rows], count=count)


def _swap_roles(deployment: Deployment, to: Colour) -> None:
    roles = roles_of(deployment)
    old = active_colour(deployment)
    colours = {c: dict(v) for c, v in deployment.colours.items()}
    colours[to.value]["role"] = Role.LIVE.value
    colours[old.value]["role"] = roles[to].value
    deployment.colours = colours


def _replay(session: Session, deployment: Deployment, key: str | None, to: Colour) -> Switch | None:
    if key is None:
        return None
    found = session.scalar(
        select(Switch).where(Switch.deployment_id == deployment.id, Switch.idempotency_key == key)
    )
    if found is not None and found.to_colour != to.value:
        raise ConflictError(
            f"Idempotency-Key {key!r} was used for a switch to {found.to_colour}, not {to.value}"
        )
    return found


def request_switch(
    runtime: Runtime,
    session: Session,
    *,
    name: str,
    to: Colour | None,
    timeout_s: float | None,
    idempotency_key: str | None,
    actor: str,
    kind: str = "switch",
) -> tuple[Switch, bool]:
    """Start a switch (``to`` None: roll back). Returns (switch, created)."""
    deployment = get_deployment(session, name)
    if to is None:
        previous = last_switch(session, deployment)
        if previous is None:
            raise ConflictError(f"{name!r} has never switched: nothing to roll back")
        to = Colour(previous.from_colour)
    replayed = _replay(session, deployment, idempotency_key, to)
    if replayed is not None:
        return replayed, False
    link = require_zk(runtime, deployment.cluster.zookeeper_connect)
    current = active_colour(deployment)
    if to == current:
        raise ConflictError(f"{to.value} is already live in {name!r}")
    running = in_flight_switch(session, deployment)
    if running is not None:
        raise ConflictError(f"switch {running.id} of {name!r} is in flight ({running.state})")
    requested_at = utc_now()
    timeout = timeout_s if timeout_s is not None else runtime.settings.switch_timeout_s
    switch = Switch(
        id=str(uuid.uuid4()),
        deployment=deployment,
        kind=kind,
        from_colour=current.value,
        to_colour=to.value,
        state=SwitchState.PENDING.value,
        requested_by=actor,
        requested_at=requested_at,
        timeout_s=timeout,
        deadline_at=requested_at + timedelta(seconds=timeout),
        idempotency_key=idempotency_key,
        in_flight=True,
        phases=[],
    )
    session.add(switch)
    _swap_roles(deployment, to)
    audit.record(
        session,
        actor=actor,
        action=kind,
        deployment=name,
        detail={"switch": switch.id, "from": current.value, "to": to.value, "timeout_s": timeout},
    )
    try:
        session.flush()
        switch.phases = initial_phases(_iso(requested_at), _iso(utc_now()))
        session.commit()
    except (IntegrityError, StaleDataError) as exc:
        # Another request won the one-in-flight constraint (or changed the row) first.
        session.rollback()
        deployment = get_deployment(session, name)
        replayed = _replay(session, deployment, idempotency_key, to)
        if replayed is not None:
            return replayed, False
        running = in_flight_switch(session, deployment)
        raise ConflictError(
            f"another switch of {name!r} is in flight"
            + ("" if running is None else f": {running.id} ({running.state})")
        ) from exc
    # Write the directive from a fresh reading under the row lock, so a change committed
    # meanwhile (a pause, say) is part of it rather than overwritten by our older copy.
    deployment = get_deployment(session, name, for_update=True)
    try:
        epoch = apply_directive(
            link,
            paths_of(deployment),
            desired_state(deployment),
            known_epoch=deployment.epoch,
            operation_id=switch.id,
        )
    except (ZkDownError, DirectiveConflictError) as exc:
        _abandon(runtime, session, switch.id, f"writing the directive failed: {exc}")
        if isinstance(exc, ZkDownError):
            raise UnavailableError(str(exc)) from exc
        raise ConflictError(str(exc)) from exc
    record_directive_written(runtime, session, switch.id, epoch)
    session.refresh(switch)
    return switch, True


def _abandon(runtime: Runtime, session: Session, switch_id: str, reason: str) -> None:
    """Fail a switch whose directive could not be written, and restore the old roles.

    If the write did reach ZooKeeper after all (its outcome is unknown when the
    connection drops), the reconciler brings the directive back to these roles.
    """
    session.rollback()
    switch = session.scalar(
        select(Switch)
        .where(Switch.id == switch_id)
        .with_for_update(of=Switch)
        .execution_options(populate_existing=True)
    )
    if switch is None or switch.state != SwitchState.PENDING.value:
        session.rollback()
        return
    _swap_roles(switch.deployment, Colour(switch.from_colour))
    _apply_steps(runtime, switch, [fail(SwitchState.PENDING, reason)], utc_now())
    session.commit()


def _apply_steps(runtime: Runtime, switch: Switch, steps: list[Step], at: datetime) -> None:
    for step in steps:
        switch.phases = advance_phases(switch.phases, step.state, _iso(at))
        switch.state = step.state.value
        if step.state.terminal:
            switch.reason = step.reason
            switch.finished_at = at
            switch.in_flight = None
            runtime.metrics.switches.labels(step.state.value).inc()
            if step.state is SwitchState.COMPLETED:
                runtime.metrics.switch_seconds.observe((at - switch.requested_at).total_seconds())


def record_directive_written(
    runtime: Runtime, session: Session, switch_id: str, epoch: int
) -> None:
    switch = session.scalar(
        select(Switch)
        .where(Switch.id == switch_id)
        .with_for_update(of=Switch)
        .execution_options(populate_existing=True)
    )
    if switch is None or switch.state != SwitchState.PENDING.value:
        session.rollback()
        return
    switch.epoch = epoch
    switch.deployment.epoch = max(switch.deployment.epoch, epoch)
    _apply_steps(runtime, switch, [directive_written(SwitchState.PENDING)], utc_now())
    session.commit()


# ---- the watcher's step ---------------------------------------------------------------


PartitionLister = Callable[[Deployment], list[PartitionId] | None]


def _observe(
    gateway: ZkGateway, switch: Switch, deployment: Deployment, partitions: list[PartitionId] | None
) -> tuple[Observation, str | None]:
    """What ZooKeeper shows for this switch, and a reason to fail it (directive superseded)."""
    paths = paths_of(deployment)
    current = DirectiveStore(gateway, paths).read()
    superseded: str | None = None
    if current is None:
        superseded = "the directive was deleted from ZooKeeper"
    elif (
        switch.epoch is not None
        and current.directive.epoch >= switch.epoch
        and current.directive.live_colour.value != switch.to_colour
    ):
        superseded = (
            f"the directive of epoch {current.directive.epoch} makes "
            f"{current.directive.live_colour.value} live: the switch was superseded"
        )
    live = deployment.live
    owners = read_owners(gateway, paths, live["group"])
    topics = set(live["topics"])
    keys = (
        {f"{t}/{p}" for t, p in partitions}
        if partitions is not None
        else {k for k in owners if k.rpartition("/")[0] in topics}
    )
    epoch = switch.epoch or 0
    old = sum(1 for k, o in owners.items() if k in keys and o.colour.value == switch.from_colour)
    new = sum(
        1
        for k, o in owners.items()
        if k in keys and o.colour.value == switch.to_colour and o.epoch >= epoch
    )
    total = None if partitions is None else len(partitions)
    return Observation(total_partitions=total, owned_by_old=old, owned_by_new=new), superseded


def advance_switch(
    runtime: Runtime, session: Session, switch_id: str, partitions_of: PartitionLister
) -> SwitchState:
    """Take one look at an in-flight switch and record what changed; returns its state."""
    switch = get_switch(session, switch_id)
    state = SwitchState(switch.state)
    if state.terminal:
        return state
    deployment = switch.deployment
    now = utc_now()
    deadline_passed = now >= switch.deadline_at
    link = link_of(runtime, deployment)
    steps: list[Step] = []
    if state is SwitchState.PENDING:
        if (now - switch.requested_at).total_seconds() < PENDING_GRACE_S and not deadline_passed:
            session.rollback()
            return state
        deployment = get_deployment(session, deployment.name, for_update=True)
        try:
            epoch = apply_directive(
                link,
                paths_of(deployment),
                desired_state(deployment),
                known_epoch=deployment.epoch,
                operation_id=switch.id,
            )
        except (ZkDownError, DirectiveConflictError) as exc:
            if deadline_passed:
                steps = [Step(SwitchState.TIMED_OUT, f"the directive was never written: {exc}")]
                return _commit_steps(runtime, session, switch_id, state, steps, None)
            session.rollback()
            return state
        steps.append(directive_written(state))
        _commit_steps(runtime, session, switch_id, state, steps, epoch)
        switch = get_switch(session, switch_id)
        state = SwitchState(switch.state)
        steps = []
    try:
        observation, superseded = zk_call(
            link, lambda gateway: _observe(gateway, switch, deployment, partitions_of(deployment))
        )
    except ZkDownError as exc:
        if deadline_passed:
            steps = [Step(SwitchState.TIMED_OUT, f"ZooKeeper unreachable at the deadline: {exc}")]
            return _commit_steps(runtime, session, switch_id, state, steps, None)
        session.rollback()
        return state
    if superseded is not None:
        steps = [fail(state, superseded)]
    else:
        steps = observe(state, observation, deadline_passed=deadline_passed)
    if not steps:
        session.rollback()
        return state
    return _commit_steps(runtime, session, switch_id, state, steps, None)


def _commit_steps(
    runtime: Runtime,
    session: Session,
    switch_id: str,
    seen: SwitchState,
    steps: list[Step],
    epoch: int | None,
) -> SwitchState:
    session.rollback()  # end the read transaction; the write re-reads under a lock
    switch = session.scalar(
        select(Switch)
        .where(Switch.id == switch_id)
        .with_for_update(of=Switch)
        .execution_options(populate_existing=True)
    )
    if switch is None or switch.state != seen.value:
        session.rollback()  # someone else advanced it meanwhile: their step stands
        return SwitchState(switch.state) if switch is not None else seen
    if epoch is not None:
        switch.epoch = epoch
        switch.deployment.epoch = max(switch.deployment.epoch, epoch)
    _apply_steps(runtime, switch, steps, utc_now())
    final = SwitchState(switch.state)
    session.commit()
    return final


def in_flight_ids(session: Session) -> list[str]:
    return list(
        session.scalars(select(Switch.id).where(Switch.state.in_([s.value for s in IN_FLIGHT])))
    )
