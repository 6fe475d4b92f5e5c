"""Property tests: the ordering guarantees hold over random keys, failures and concurrency."""

from __future__ import annotations

import threading
from collections import defaultdict

from confluent_kafka import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.ordering import assert_sequential
from tests.unit.agent.work.support import TOPIC, settle
from turnout.agent.records import Record, RecordRun
from turnout.agent.work import FailedDecision, Ordering, WorkConfig, WorkManager

#: Each example starts real worker threads; a few dozen examples cover the space well.
EXAMPLES = 30


@st.composite
def workloads(draw: st.DrawFn) -> tuple[list[int], dict[int, int], int]:
    """(key index per offset, failing attempts per offset, workers)."""
    keys = draw(st.integers(min_value=1, max_value=8))
    length = draw(st.integers(min_value=1, max_value=60))
    key_of = draw(st.lists(st.integers(0, keys - 1), min_size=length, max_size=length))
    failures = draw(
        st.dictionaries(st.integers(0, length - 1), st.integers(1, 2), max_size=length // 3)
    )
    workers = draw(st.integers(min_value=1, max_value=8))
    return key_of, failures, workers


#: Records per submitted run: not a multiple of run_size, so pieces straddle runs.
FETCH_RUN = 5


def run_workload(
    ordering: Ordering, key_of: list[int], failures: dict[int, int], workers: int
) -> list[tuple[int, int, str]]:
    """Events (offset, key, "start"/"end"/"fail") in the order handlers produced them."""
    events: list[tuple[int, int, str]] = []
    attempts: dict[int, int] = defaultdict(int)
    lock = threading.Lock()

    def handler(rec: Record) -> None:
        key = int(rec.key or b"0")
        with lock:
            attempts[rec.offset] += 1
            events.append((rec.offset, key, "start"))
            failing = attempts[rec.offset] <= failures.get(rec.offset, 0)
        if failing:
            with lock:
                events.append((rec.offset, key, "fail"))
            raise RuntimeError("transient")
        with lock:
            events.append((rec.offset, key, "end"))

    config = WorkConfig(
        ordering=ordering,
        workers=workers,
        run_size=3,
        max_retries=2,
        backoff=0.001,
        backoff_max=0.004,
        backoff_jitter=0.002,
    )
    manager = WorkManager(
        config, handler=handler, on_failure=lambda f: FailedDecision.DO_NOT_COMMIT_AND_STOP
    )
    try:
        manager.open_partition((TOPIC, 0), 0, frozenset())
        # As the agent hands them over: runs of fetched messages (RecordRun), which the
        # lanes then cut into pieces of run_size and put back on retries.
        messages = [
            Message(topic=TOPIC, partition=0, offset=offset, key=str(key).encode(), value=b"v")
            for offset, key in enumerate(key_of)
        ]
        for start in range(0, len(messages), FETCH_RUN):
            chunk = messages[start : start + FETCH_RUN]
            offsets = list(range(start, start + len(chunk)))
            manager.submit_run((TOPIC, 0), RecordRun(chunk, offsets, TOPIC, 0, 1))
        settle(manager, (TOPIC, 0), len(key_of))
        assert manager.stop_reason() is None
    finally:
        manager.close(5.0)
    return events


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads())
def test_key_mode_keeps_each_keys_records_in_order_across_retries_and_concurrency(
    workload: tuple[list[int], dict[int, int], int],
) -> None:
    key_of, failures, workers = workload
    events = run_workload(Ordering.KEY, key_of, failures, workers)
    assert_sequential(events, dict(enumerate(key_of)))
    ended = sorted(o for o, _, kind in events if kind == "end")
    assert ended == list(range(len(key_of)))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads())
def test_partition_mode_is_strictly_sequential_across_retries(
    workload: tuple[list[int], dict[int, int], int],
) -> None:
    key_of, failures, workers = workload
    events = run_workload(Ordering.PARTITION, key_of, failures, workers)
    assert_sequential(events, dict.fromkeys(range(len(key_of)), 0))
    assert [o for o, _, kind in events if kind == "end"] == list(range(len(key_of)))
