"""Properties of the sequential dispatcher over random offsets and handler failures:
each record completes exactly once, in offset order, and the commit point is exactly
past the last completed record (Kafka's next offset to consume)."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turnout.agent import sequential
from turnout.agent.dispatch import CommitPoint, DispatchContext
from turnout.agent.metrics import AgentMetrics
from turnout.agent.records import Record
from turnout.agent.sequential import SequentialDispatcher

TP = ("t", 0)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sequential, "RETRY_BACKOFF_INITIAL_S", 0.001)


def _offsets() -> st.SearchStrategy[list[int]]:
    """Increasing offsets with gaps (compaction, transactions' markers)."""
    steps = st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=40)
    return steps.map(lambda gaps: [sum(gaps[: i + 1]) for i in range(len(gaps))])


@settings(max_examples=40, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=1000),
    offsets=_offsets(),
    failures=st.dictionaries(st.integers(min_value=0, max_value=39), st.integers(1, 2)),
)
def test_every_record_completes_once_in_order_whatever_fails(
    start: int, offsets: list[int], failures: dict[int, int]
) -> None:
    offsets = [start + o for o in offsets]
    remaining = {offsets[i]: n for i, n in failures.items() if i < len(offsets)}
    completed: list[int] = []
    lock = threading.Lock()

    def handler(record: Record) -> None:
        with lock:
            if remaining.get(record.offset, 0) > 0:
                remaining[record.offset] -= 1
                raise RuntimeError("planned failure")
            completed.append(record.offset)

    metrics = AgentMetrics("d", "i")
    dispatcher = SequentialDispatcher(DispatchContext(handler, lambda r: True, "i", metrics))
    dispatcher.open_partition(TP, start, frozenset())
    for offset in offsets:
        dispatcher.submit(Record("t", 0, offset, None, b"", (), 0, 1))
    deadline = time.monotonic() + 10
    while len(completed) < len(offsets) and time.monotonic() < deadline:
        time.sleep(0.001)
    point = dispatcher.close_partition(TP, 1.0)
    assert completed == offsets
    assert point == CommitPoint(offsets[-1] + 1)
    assert metrics.snapshot()["handler_errors"] == sum(
        n for i, n in failures.items() if i < len(offsets)
    )
