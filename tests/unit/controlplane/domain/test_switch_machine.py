from __future__ import annotations

import pytest

from turnout.controlplane.domain.switch_machine import (
    IllegalTransitionError,
    Observation,
    Phase,
    Step,
    SwitchState,
    advance_phases,
    directive_written,
    fail,
    initial_phases,
    observe,
)

S = SwitchState


def seen(total: int | None = 4, old: int = 0, new: int = 0) -> Observation:
    return Observation(total_partitions=total, owned_by_old=old, owned_by_new=new)


def states(steps: list[Step]) -> list[SwitchState]:
    return [step.state for step in steps]


def test_written_directive_starts_releasing_and_waits_while_old_colour_owns() -> None:
    assert states(observe(S.DIRECTIVE_WRITTEN, seen(old=2), deadline_passed=False)) == [S.RELEASING]
    assert observe(S.RELEASING, seen(old=1), deadline_passed=False) == []


def test_release_then_claim_completes_only_when_every_partition_is_new_colour() -> None:
    assert states(observe(S.RELEASING, seen(old=0, new=3), deadline_passed=False)) == [S.CLAIMING]
    assert observe(S.CLAIMING, seen(new=3), deadline_passed=False) == []
    assert states(observe(S.CLAIMING, seen(new=4), deadline_passed=False)) == [S.COMPLETED]


def test_fast_handoff_passes_every_state_in_one_observation() -> None:
    steps = observe(S.DIRECTIVE_WRITTEN, seen(new=4), deadline_passed=False)
    assert states(steps) == [S.RELEASING, S.CLAIMING, S.COMPLETED]


def test_completion_wins_over_a_deadline_passed_in_the_same_observation() -> None:
    assert states(observe(S.CLAIMING, seen(new=4), deadline_passed=True)) == [S.COMPLETED]


def test_deadline_times_out_with_the_phase_and_counts_in_the_reason() -> None:
    steps = observe(S.RELEASING, seen(old=3), deadline_passed=True)
    assert states(steps) == [S.TIMED_OUT]
    assert "old colour still owned 3 of 4" in (steps[0].reason or "")
    steps = observe(S.CLAIMING, seen(new=1), deadline_passed=True)
    assert "new colour owned 1 of 4" in (steps[0].reason or "")


def test_unknown_partition_count_never_completes_and_says_why_at_deadline() -> None:
    assert observe(S.CLAIMING, seen(total=None, new=10), deadline_passed=False) == []
    steps = observe(S.CLAIMING, seen(total=None), deadline_passed=True)
    assert "could not be listed from Kafka" in (steps[0].reason or "")


def test_a_binding_without_partitions_is_never_claimed() -> None:
    assert observe(S.CLAIMING, seen(total=0), deadline_passed=False) == []


def test_pending_does_not_advance_on_observations_but_times_out() -> None:
    assert observe(S.PENDING, seen(new=4), deadline_passed=False) == []
    steps = observe(S.PENDING, seen(), deadline_passed=True)
    assert states(steps) == [S.TIMED_OUT]
    assert "directive could not be written" in (steps[0].reason or "")


def test_terminal_states_ignore_observations_and_cannot_fail() -> None:
    for state in (S.COMPLETED, S.FAILED, S.TIMED_OUT):
        assert observe(state, seen(), deadline_passed=True) == []
        with pytest.raises(IllegalTransitionError):
            fail(state, "late")


def test_directive_written_only_from_pending() -> None:
    assert directive_written(S.PENDING).state is S.DIRECTIVE_WRITTEN
    with pytest.raises(IllegalTransitionError):
        directive_written(S.RELEASING)


def test_phases_are_timestamped_in_order_and_completed_is_instant() -> None:
    phases = initial_phases("t0", "t1")
    assert [p["name"] for p in phases] == [p.value for p in Phase]
    assert phases[0] == {"name": "requested", "started_at": "t0", "ended_at": "t1"}
    assert phases[1]["started_at"] == "t1"
    phases = advance_phases(phases, S.DIRECTIVE_WRITTEN, "t2")
    phases = advance_phases(phases, S.RELEASING, "t3")  # no phase boundary
    phases = advance_phases(phases, S.CLAIMING, "t4")
    phases = advance_phases(phases, S.COMPLETED, "t5")
    assert [(p["started_at"], p["ended_at"]) for p in phases] == [
        ("t0", "t1"),
        ("t1", "t2"),
        ("t2", "t4"),
        ("t4", "t5"),
        ("t5", "t5"),
    ]


def test_failure_leaves_open_phases_open() -> None:
    phases = advance_phases(initial_phases("t0", "t1"), S.FAILED, "t2")
    assert phases[1] == {"name": "directive_written", "started_at": "t1", "ended_at": None}
