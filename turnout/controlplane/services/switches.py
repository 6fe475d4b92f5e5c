"""Switch and rollback requests: store the intent, write the directive, record it.

The request path (``request_switch``) stores the switch row and the new roles in one
transaction (the intent), writes the directive with the switch's id as operation id,
then records ``directive_written``. From there the leader's watcher
(``switch_watcher``) follows the switch to its end. Either side may die at any point:
the watcher finishes what the request path started (a ``pending`` switch gets its
directive written), and every step is a compare-the-state-then-write transaction, so
running it twice is harmless.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from turnout.controlplane.context import AppContext
from turnout.controlplane.coordination.connections import ZkDownError
from turnout.controlplane.domain.switch_machine import (
    SwitchState,
    directive_written,
    fail,
    initial_phases,
)
from turnout.controlplane.errors import ConflictError, UnavailableError
from turnout.controlplane.models import Deployment, Switch, utc_now
from turnout.controlplane.queries import (
    end_before_waiting,
    get_deployment,
    in_flight_switch,
    last_switch,
    lock_switch,
)
from turnout.controlplane.responses import switch_public
from turnout.controlplane.schemas.common import Page
from turnout.controlplane.schemas.switches import ReadinessGate, SwitchPublic
from turnout.controlplane.services import audit
from turnout.controlplane.services.directive_writes import (
    apply_desired_state,
    require_zookeeper,
)
from turnout.controlplane.services.readiness import require_ready
from turnout.controlplane.services.switch_steps import record_steps
from turnout.protocol import Colour
from turnout.protocol.directives import DirectiveConflictError


def list_switches(
    session: Session,
    *,
    deployment: str | None,
    state: SwitchState | None,
    limit: int,
    offset: int,
    visible: Collection[str] | None = None,
) -> Page[SwitchPublic]:
    """Newest first; only switches of the deployments named in ``visible`` (None: all)."""
    query = select(Switch)
    if deployment is not None or visible is not None:
        query = query.join(Deployment)
    if deployment is not None:
        query = query.where(Deployment.name == deployment)
    if visible is not None:
        query = query.where(Deployment.name.in_(visible))
    if state is not None:
        query = query.where(Switch.state == state.value)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Switch.requested_at.desc()).limit(limit).offset(offset)
    ).all()
    return Page[SwitchPublic](data=[switch_public(row) for row in rows], count=count)


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


def _startable(session: Session, deployment: Deployment, to: Colour) -> Colour:
    """The live colour, once sure a switch to ``to`` may start; 409 if one may not."""
    current = deployment.active_colour()
    if to == current:
        raise ConflictError(f"{to.value} is already live in {deployment.name!r}")
    running = in_flight_switch(session, deployment)
    if running is not None:
        raise ConflictError(
            f"switch {running.id} of {deployment.name!r} is in flight ({running.state})"
        )
    return current


def request_switch(
    context: AppContext,
    session: Session,
    *,
    name: str,
    to: Colour | None,
    gate: ReadinessGate,
    timeout_s: float | None,
    idempotency_key: str | None,
    actor: str,
    kind: str = "switch",
) -> tuple[Switch, bool]:
    """Start a switch (``to`` None: roll back). Returns (switch, created).

    Unless ``gate.force``, the colour must be ready first (``services.readiness``),
    waited for up to ``gate.wait_ready_ms``."""
    deployment = get_deployment(session, name)
    if to is None:
        previous = last_switch(session, deployment)
        if previous is None:
            raise ConflictError(f"{name!r} has never switched: nothing to roll back")
        to = Colour(previous.from_colour)
    replayed = _replay(session, deployment, idempotency_key, to)
    if replayed is not None:
        return replayed, False
    connection = require_zookeeper(context, deployment.cluster)
    current = _startable(session, deployment, to)
    if not gate.force:
        paths = deployment.paths()
        end_before_waiting(session)  # the readiness wait reads ZooKeeper only
        require_ready(connection, paths, to, wait_s=gate.wait_ready_ms / 1000)
        deployment = get_deployment(session, name)
        current = _startable(session, deployment, to)
    requested_at = utc_now()
    timeout = timeout_s if timeout_s is not None else context.settings.switch_timeout_s
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
    deployment.make_live(to)
    audit.record(
        session,
        actor=actor,
        action=kind,
        deployment=name,
        detail={
            "switch": switch.id,
            "from": current.value,
            "to": to.value,
            "timeout_s": timeout,
            "force": gate.force,
        },
    )
    try:
        session.flush()
        switch.phases = initial_phases(requested_at.isoformat(), utc_now().isoformat())
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
        epoch = apply_desired_state(context, deployment, operation_id=switch.id)
    except (ZkDownError, DirectiveConflictError) as exc:
        _abandon(context, session, switch.id, f"writing the directive failed: {exc}")
        if isinstance(exc, ZkDownError):
            raise UnavailableError(str(exc)) from exc
        raise ConflictError(str(exc)) from exc
    record_directive_written(context, session, switch.id, epoch)
    session.refresh(switch)
    return switch, True


def _abandon(context: AppContext, session: Session, switch_id: str, reason: str) -> None:
    """Fail a switch whose directive could not be written, and restore the old roles.

    If the write did reach ZooKeeper after all (its outcome is unknown when the
    connection drops), the reconciler brings the directive back to these roles.
    """
    session.rollback()
    switch = lock_switch(session, switch_id)
    if switch is None or switch.state != SwitchState.PENDING.value:
        session.rollback()
        return
    switch.deployment.make_live(Colour(switch.from_colour))
    record_steps(context.metrics, switch, [fail(SwitchState.PENDING, reason)], utc_now())
    session.commit()


def record_directive_written(
    context: AppContext, session: Session, switch_id: str, epoch: int
) -> None:
    switch = lock_switch(session, switch_id)
    if switch is None or switch.state != SwitchState.PENDING.value:
        session.rollback()
        return
    switch.epoch = epoch
    switch.deployment.epoch = max(switch.deployment.epoch, epoch)
    record_steps(context.metrics, switch, [directive_written(SwitchState.PENDING)], utc_now())
    session.commit()
