"""The blue/green switch state machine: pure, no I/O, no clock of its own.

States and transitions (docs/blue-green.md tells the story)::

    pending ──directive written──▶ directive_written ──first observation──▶ releasing
    releasing ──no live partition owned by the old colour──▶ claiming
    claiming ──every live partition owned by the new colour at epoch >= E──▶ completed
    pending | directive_written | releasing | claiming ──now >= deadline──▶ timed_out
    pending | directive_written | releasing | claiming ──fail(reason)──▶ failed

- ``pending``: the switch row is committed (the intent), the directive not yet written.
  A control plane that dies here leaves the reconciler to write it (or fail it).
- ``directive_written``: ZooKeeper holds the directive of epoch E naming the new colour.
- ``releasing``: waiting until the old colour holds no owner node of the live binding
  (each old owner drained, committed and deleted its node, or its session expired).
- ``claiming``: waiting until the new colour owns every live partition at epoch >= E.
- ``completed``, ``failed``, ``timed_out``: terminal; ``reason`` says why for the last two.

One observation may carry a switch through several states at once (a fast handoff can be
finished by the time the watcher first looks); every state passed through still gets its
phase timestamps. A deadline is checked only after progress: a switch that completed in
the same observation in which its deadline passed is completed, not timed out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SwitchState(StrEnum):
    PENDING = "pending"
    DIRECTIVE_WRITTEN = "directive_written"
    RELEASING = "releasing"
    CLAIMING = "claiming"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({SwitchState.COMPLETED, SwitchState.FAILED, SwitchState.TIMED_OUT})
IN_FLIGHT = frozenset(set(SwitchState) - TERMINAL)


class Phase(StrEnum):
    """Timestamped phases shown to users. ``requested`` ends when the intent is stored."""

    REQUESTED = "requested"
    DIRECTIVE_WRITTEN = "directive_written"
    RELEASED = "released"
    CLAIMED = "claimed"
    COMPLETED = "completed"


PHASE_ORDER = tuple(Phase)


@dataclass(frozen=True)
class Observation:
    """What the watcher saw of the live binding in ZooKeeper at one instant."""

    #: Every partition of the live binding, or None when it could not be listed (Kafka down).
    total_partitions: int | None
    #: Live partitions whose owner node names the old colour.
    owned_by_old: int
    #: Live partitions owned by the new colour at the switch's epoch or newer.
    owned_by_new: int

    @property
    def released(self) -> bool:
        return self.owned_by_old == 0

    @property
    def claimed(self) -> bool:
        return (
            self.total_partitions is not None
            and self.total_partitions > 0
            and self.owned_by_new >= self.total_partitions
        )


@dataclass(frozen=True)
class Step:
    """One transition: the state entered and, for terminal failures, why."""

    state: SwitchState
    reason: str | None = None


class IllegalTransitionError(ValueError):
    pass


def directive_written(state: SwitchState) -> Step:
    if state is not SwitchState.PENDING:
        raise IllegalTransitionError(f"the directive is written only from pending, not {state}")
    return Step(SwitchState.DIRECTIVE_WRITTEN)


def fail(state: SwitchState, reason: str) -> Step:
    if state.terminal:
        raise IllegalTransitionError(f"a {state} switch cannot fail")
    return Step(SwitchState.FAILED, reason)


def observe(state: SwitchState, seen: Observation, *, deadline_passed: bool) -> list[Step]:
    """The transitions an observation causes, in order (empty if none).

    ``pending`` does not advance on observations: only a written directive makes
    ownership mean anything for this switch.
    """
    if state.terminal:
        return []
    steps: list[Step] = []
    current = state
    if current is SwitchState.DIRECTIVE_WRITTEN:
        current = SwitchState.RELEASING
        steps.append(Step(current))
    if current is SwitchState.RELEASING and seen.released:
        current = SwitchState.CLAIMING
        steps.append(Step(current))
    if current is SwitchState.CLAIMING and seen.claimed:
        steps.append(Step(SwitchState.COMPLETED))
        return steps
    if deadline_passed:
        steps.append(Step(SwitchState.TIMED_OUT, timeout_reason(current, seen)))
    return steps


def timeout_reason(state: SwitchState, seen: Observation) -> str:
    if state is SwitchState.PENDING:
        return "the directive could not be written to ZooKeeper before the deadline"
    total = "?" if seen.total_partitions is None else str(seen.total_partitions)
    if state in (SwitchState.DIRECTIVE_WRITTEN, SwitchState.RELEASING):
        return (
            f"the old colour still owned {seen.owned_by_old} of {total} live partitions "
            "at the deadline (releasing)"
        )
    if seen.total_partitions is None:
        return "the live binding's partitions could not be listed from Kafka before the deadline"
    return (
        f"the new colour owned {seen.owned_by_new} of {total} live partitions at the "
        "deadline (claiming)"
    )


def phase_ended_by(state: SwitchState) -> Phase | None:
    """The phase that ends when a switch enters ``state`` (the next one starts then)."""
    return {
        SwitchState.DIRECTIVE_WRITTEN: Phase.DIRECTIVE_WRITTEN,
        SwitchState.CLAIMING: Phase.RELEASED,
        SwitchState.COMPLETED: Phase.CLAIMED,
    }.get(state)


#: A phase as stored: ``{"name": ..., "started_at": iso|None, "ended_at": iso|None}``.
PhaseRecord = dict[str, str | None]


def initial_phases(requested_at: str, stored_at: str) -> list[PhaseRecord]:
    """Phases of a switch whose intent was stored: ``requested`` done, the next one running."""
    phases: list[PhaseRecord] = [
        {"name": phase.value, "started_at": None, "ended_at": None} for phase in PHASE_ORDER
    ]
    phases[0].update(started_at=requested_at, ended_at=stored_at)
    phases[1]["started_at"] = stored_at
    return phases


def advance_phases(phases: list[PhaseRecord], entered: SwitchState, at: str) -> list[PhaseRecord]:
    """New phase records after entering ``entered`` at ``at`` (the input is not changed)."""
    updated = [dict(record) for record in phases]
    ended = phase_ended_by(entered)
    if ended is None:
        return updated
    index = PHASE_ORDER.index(ended)
    updated[index]["ended_at"] = at
    if updated[index]["started_at"] is None:
        updated[index]["started_at"] = at
    following = updated[index + 1]
    following["started_at"] = at
    if following["name"] == Phase.COMPLETED.value:
        following["ended_at"] = at
    return updated
