"""The leader's switch watcher: one look at an in-flight switch, and what changed recorded.

``advance_switch`` reads the directive and the owner nodes of the live binding, turns
them into an observation (``domain.switch_observation``) and lets the state machine
(``domain.switch_machine``) say which steps follow; the steps are written under the
switch's row lock, and only if nobody else advanced the switch meanwhile (compare the
state, then write), so two leaders for a moment, or a request racing the watcher, never
record a step twice.

A ``pending`` switch (intent stored, directive not yet written) is left to its request
for ``PENDING_GRACE_S``; after that the watcher writes the directive itself: the
request's replica died or ZooKeeper was very slow. A failure to read ZooKeeper is
retried on the next look, except at the deadline, where it times the switch out.
"""

from __future__ import annotations

from collections.abc import Callable

from turnout.controlplane.context import AppContext
from turnout.controlplane.coordination.agent_reports import read_owners
from turnout.controlplane.coordination.connections import ZkDownError
from turnout.controlplane.domain.switch_machine import (
    Observation,
    Step,
    SwitchState,
    directive_written,
    fail,
    observe,
)
from turnout.controlplane.domain.switch_observation import observe_owners, superseded_reason
from turnout.controlplane.models import Deployment, Switch, utc_now
from turnout.controlplane.queries import get_deployment, lock_switch
from turnout.controlplane.services.directive_writes import apply_desired_state
from turnout.controlplane.services.switch_steps import record_steps
from turnout.protocol import Colour
from turnout.protocol.directives import DirectiveConflictError, DirectiveStore
from turnout.protocol.partitions import PartitionId
from turnout.zk import ZkGateway

#: A pending switch younger than this belongs to the request that is writing its
#: directive right now; the watcher leaves it alone. Older ones were orphaned by a crash
#: (or a very slow ZooKeeper) and the watcher writes the directive itself.
PENDING_GRACE_S = 5.0

#: Every partition of a deployment's live binding, or None when Kafka cannot list them.
PartitionLister = Callable[[Deployment], list[PartitionId] | None]


def _look(
    gateway: ZkGateway, switch: Switch, deployment: Deployment, partitions: list[PartitionId] | None
) -> tuple[Observation, str | None]:
    """What ZooKeeper shows for this switch, and a reason to fail it (directive superseded)."""
    paths = deployment.paths()
    current = DirectiveStore(gateway, paths).read()
    to_colour = Colour(switch.to_colour)
    superseded = superseded_reason(
        None if current is None else current.directive,
        switch_epoch=switch.epoch,
        to_colour=to_colour,
    )
    live = deployment.live_binding()
    observation = observe_owners(
        read_owners(gateway, paths, live.group),
        in_binding=live.matches,
        partitions=partitions,
        from_colour=Colour(switch.from_colour),
        to_colour=to_colour,
        epoch=switch.epoch or 0,
    )
    return observation, superseded


def _read(context: AppContext, switch_id: str) -> tuple[Switch, Deployment] | None:
    """The switch and its deployment (with its cluster), read in a read-only session and
    detached from it: what a look needs, with no transaction left open."""
    with context.read_sessions() as reading:
        switch = reading.get(Switch, switch_id)
        if switch is None:
            return None
        deployment = switch.deployment
        assert deployment.cluster is not None  # loaded now, for the look and the paths
        return switch, deployment


def advance_switch(
    context: AppContext, switch_id: str, partitions_of: PartitionLister
) -> SwitchState | None:
    """Take one look at an in-flight switch and record what changed; returns its state
    (None if the switch is gone).

    The look (ZooKeeper's directive and owner nodes, Kafka's partition list) runs with no
    database transaction open: on SQLite a transaction that may write holds the one write
    lock (``db.py``), and a look every ``switch_poll_interval_s`` inside one would stall
    every request that writes for as long as ZooKeeper or Kafka takes to answer. Only a
    step to record takes the lock (``_commit_steps``)."""
    found = _read(context, switch_id)
    if found is None:
        return None
    switch, deployment = found
    state = SwitchState(switch.state)
    if state.terminal:
        return state
    now = utc_now()
    deadline_passed = now >= switch.deadline_at
    if state is SwitchState.PENDING:
        if (now - switch.requested_at).total_seconds() < PENDING_GRACE_S and not deadline_passed:
            return state
        state = _write_orphaned_directive(context, switch_id, deployment.name, deadline_passed)
        found = _read(context, switch_id)
        if state is SwitchState.PENDING or found is None:
            return state
        switch, deployment = found
        state = SwitchState(switch.state)
        if state.terminal:
            return state
    connection = context.zookeeper_of(deployment.cluster)
    try:
        observation, superseded = connection.call(
            lambda gateway: _look(gateway, switch, deployment, partitions_of(deployment))
        )
    except ZkDownError as exc:
        if deadline_passed:
            steps = [Step(SwitchState.TIMED_OUT, f"ZooKeeper unreachable at the deadline: {exc}")]
            return _commit_steps(context, switch_id, state, steps, None)
        return state
    if superseded is not None:
        steps = [fail(state, superseded)]
    else:
        steps = observe(state, observation, deadline_passed=deadline_passed)
    if not steps:
        return state
    return _commit_steps(context, switch_id, state, steps, None)


def _write_orphaned_directive(
    context: AppContext, switch_id: str, name: str, deadline_passed: bool
) -> SwitchState:
    """Write the directive of a switch whose request did not (see the module), under the
    deployment's row lock as a request does; the switch's state after. The step is then
    recorded under the switch's own lock (``_commit_steps``)."""
    with context.sessions() as session:
        deployment = get_deployment(session, name, for_update=True)
        try:
            epoch: int | None = apply_desired_state(context, deployment, operation_id=switch_id)
            failure = None
        except (ZkDownError, DirectiveConflictError) as exc:
            epoch, failure = None, exc
    if failure is None:
        step = directive_written(SwitchState.PENDING)
    elif deadline_passed:
        step = Step(SwitchState.TIMED_OUT, f"the directive was never written: {failure}")
    else:
        return SwitchState.PENDING
    return _commit_steps(context, switch_id, SwitchState.PENDING, [step], epoch)


def _commit_steps(
    context: AppContext,
    switch_id: str,
    seen: SwitchState,
    steps: list[Step],
    epoch: int | None,
) -> SwitchState:
    """Record ``steps`` under the switch's row lock, re-read, unless someone else advanced
    the switch from ``seen`` meanwhile (their step stands)."""
    with context.sessions() as session:
        switch = lock_switch(session, switch_id)
        if switch is None or switch.state != seen.value:
            return SwitchState(switch.state) if switch is not None else seen
        if epoch is not None:
            switch.epoch = epoch
            switch.deployment.epoch = max(switch.deployment.epoch, epoch)
        record_steps(context.metrics, switch, steps, utc_now())
        final = SwitchState(switch.state)
        session.commit()
        return final
