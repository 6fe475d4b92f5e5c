"""The checker on generated histories: random handoffs pass, planted loss is always found."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.verify.histories import History
from turnout.verify import check
from turnout.verify.events import Processed

EXAMPLES = 100

# (instance, records processed in the tenure, records of them left uncommitted at a crash;
# 0 means the tenure ends with a clean release).
tenure_plans = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.integers(min_value=0, max_value=6),
        st.integers(min_value=0, max_value=3),
    ),
    min_size=1,
    max_size=8,
)


def _run(plans: list[tuple[str, int, int]]) -> tuple[History, int]:
    """Build a one-partition history from ``plans``; returns it and the expected duplicates."""
    h = History()
    committed = 0  # where the next tenure starts
    reached = 0  # the highest offset processed so far, plus one
    duplicates = 0
    for instance, fresh, uncommitted in plans:
        h.claim(instance, 0, committed)
        end = reached + fresh
        h.produce(0, end - len(h.produced))
        duplicates += reached - committed  # the previous crash's window is processed again
        h.process(instance, 0, *range(committed, end))
        reached = end
        window = min(uncommitted, end - committed)
        if window:
            h.commit(instance, 0, end - window)
            h.restart(instance)  # SIGKILL: no release, the next process has a new pid
            committed = end - window
        else:
            h.release(instance, 0, end)
            committed = end
    # A last clean owner drains what the final crash left uncommitted.
    if committed < reached:
        h.claim("z", 0, committed)
        h.process("z", 0, *range(committed, reached))
        duplicates += reached - committed
        h.release("z", 0, reached)
    return h, duplicates


@settings(max_examples=EXAMPLES, deadline=None)
@given(plans=tenure_plans)
def test_crash_takeovers_pass_and_duplicates_equal_the_uncommitted_windows(
    plans: list[tuple[str, int, int]],
) -> None:
    h, expected_duplicates = _run(plans)
    report = check(h.produced, h.events)
    assert report.ok, report.to_dict()
    assert report.duplicates.extra_copies == expected_duplicates
    assert report.duplicates.after_commit == 0


@settings(max_examples=EXAMPLES, deadline=None)
@given(plans=tenure_plans.map(lambda ps: [(i, n, 0) for i, n, _ in ps]))
def test_clean_handoffs_pass_even_when_only_planned_moves_are_allowed(
    plans: list[tuple[str, int, int]],
) -> None:
    h, expected_duplicates = _run(plans)
    assert expected_duplicates == 0
    report = check(h.produced, h.events, planned_only=True)
    assert report.ok, report.to_dict()


@settings(max_examples=EXAMPLES, deadline=None)
@given(plans=tenure_plans.map(lambda ps: [(i, n, 0) for i, n, _ in ps]), data=st.data())
def test_dropping_any_processed_record_is_reported_lost(
    plans: list[tuple[str, int, int]], data: st.DataObject
) -> None:
    h, _ = _run(plans)
    processed = [e for e in h.events if isinstance(e, Processed)]
    if not processed:
        return
    victim = data.draw(st.sampled_from(processed))
    h.events.remove(victim)
    report = check(h.produced, h.events, planned_only=True)
    assert report.lost.count == 1
    assert report.lost.examples[0]["offset"] == victim.offset
    assert not report.ok
