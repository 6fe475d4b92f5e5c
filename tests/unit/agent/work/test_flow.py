"""Flow control: in-flight bounds, the lookahead and the circuit breaker; driven directly
and through a manager with real worker threads."""

from __future__ import annotations

import threading
import time

from tests.unit.agent.work.support import (
    TP0,
    TP1,
    WAIT_S,
    Core,
    build,
    fail_offset_any,
    record,
    settle,
    wait_until,
)
from turnout.agent.records import Record
from turnout.agent.work import FailedDecision, Ordering, WorkConfig, WorkManager
from turnout.agent.work.flow import BEHIND_S, PACE_SAMPLE_S
from turnout.agent.work.lanes import PartitionWork

# ---- flow control on its own --------------------------------------------------------------


def retire(core: Core, part: PartitionWork, count: int) -> None:
    with core.lock:
        core.flow.retire(part, count)


def test_a_partition_is_refused_at_its_bound_until_back_under_half_of_it() -> None:
    core = Core(WorkConfig(max_in_flight_per_partition=10))
    part = core.open()
    core.submit(part, range(9))
    assert core.flow.wants_more(part.tp)
    core.submit(part, range(9, 10))
    assert not core.flow.wants_more(part.tp)
    retire(core, part, 4)  # 6 in flight: under the bound, not under half of it
    assert not core.flow.wants_more(part.tp)
    retire(core, part, 1)
    assert core.flow.wants_more(part.tp)


def test_a_partition_is_refused_while_it_remembers_too_many_offsets() -> None:
    core = Core(WorkConfig(max_in_flight_per_partition=5, max_uncommitted_per_partition=8))
    part = core.open()
    core.submit(part, range(4))
    retire(core, part, 4)  # finished past a stuck record: in flight 0, span still 4
    core.submit(part, range(4, 8))
    assert not core.flow.wants_more(part.tp)


def test_has_room_is_false_at_the_memory_bound() -> None:
    core = Core(WorkConfig(max_in_flight=10, max_ahead=10, max_in_flight_per_partition=10))
    part = core.open()
    core.submit(part, range(9))
    assert core.flow.has_room()
    core.submit(part, range(9, 10))
    assert not core.flow.has_room()
    retire(core, part, 1)
    assert core.flow.has_room()


def big_records(part: PartitionWork, offsets: range, size: int) -> list[Record]:
    return [Record(part.tp[0], part.tp[1], o, b"k", b"x" * size, (), 0, 1) for o in offsets]


def test_has_room_is_false_at_the_byte_bound_however_few_records() -> None:
    core = Core(WorkConfig(max_in_flight_bytes=1_000_000, max_ahead=10_000))
    part = core.open()
    core.scheduler.submit(part, big_records(part, range(9), 100_000))
    assert core.flow.has_room()  # 9 x 100,001 bytes: under a million
    core.scheduler.submit(part, big_records(part, range(9, 10), 100_000))
    assert not core.flow.has_room()
    assert core.flow.in_flight_bytes == 10 * 100_001
    retire(core, part, 1)
    assert core.flow.has_room()


def test_the_byte_estimate_follows_the_records_accepted_lately() -> None:
    core = Core(WorkConfig(max_in_flight_bytes=10**12))
    part = core.open()
    core.scheduler.submit(part, big_records(part, range(100), 10))
    assert core.flow.record_bytes == 11
    core.scheduler.submit(part, big_records(part, range(100, 20_100), 1000))
    assert core.flow.record_bytes == 1001  # a window's worth of new sizes replaces the old
    retire(core, part, 20_000)
    assert core.flow.in_flight_bytes == 100 * 1001


def test_past_the_lookahead_polls_wait_while_the_workers_keep_pace_and_go_on_when_not() -> None:
    config = WorkConfig(max_in_flight=1_000, max_ahead=100, max_in_flight_per_partition=1_000)
    core = Core(config)
    part = core.open()
    core.submit(part, range(200))
    # No pace yet (nothing retired): the workers are not catching up, polling goes on.
    assert core.flow.has_room()
    # 150 retired within two pace samples: the 150 ahead take far less than BEHIND_S at
    # that pace, so the polls wait for the workers.
    retire(core, part, 150)
    core.submit(part, range(200, 300))
    core.clock.advance(2 * PACE_SAMPLE_S)
    assert not core.flow.has_room()
    # The pace falls to nothing: the records ahead would take longer than BEHIND_S.
    for _ in range(10):
        core.clock.advance(BEHIND_S)
        core.flow.has_room()
    assert core.flow.has_room()


def test_waiting_for_room_returns_as_soon_as_records_retire() -> None:
    core = Core(WorkConfig(max_in_flight=5, max_ahead=5, max_in_flight_per_partition=5))
    part = core.open()
    core.submit(part, range(5))
    woke: list[float] = []
    waiter = threading.Thread(target=lambda: (core.flow.wait_for_room(WAIT_S), woke.append(1)))
    waiter.start()
    time.sleep(0.05)
    assert woke == []
    retire(core, part, 1)
    waiter.join(WAIT_S)
    assert woke == [1]


def test_the_breaker_refuses_every_partition_until_its_cooldown_or_close() -> None:
    core = Core()
    part = core.open()
    core.flow.open_breaker(30.0)
    assert core.flow.breaker_open() and not core.flow.wants_more(part.tp)
    core.clock.advance(30.0)
    assert not core.flow.breaker_open() and core.flow.wants_more(part.tp)
    core.flow.open_breaker(30.0)
    core.flow.close_breaker()
    assert core.flow.wants_more(part.tp)


def test_a_halted_manager_wants_nothing_more() -> None:
    core = Core()
    part = core.open()
    core.lifecycle.halt("stop")
    assert not core.flow.wants_more(part.tp)


# ---- with worker threads -------------------------------------------------------------------


def test_back_pressure_bounds_in_flight_records_per_partition(managers: list[WorkManager]) -> None:
    gate = threading.Event()
    manager = build(
        managers,
        lambda rec: gate.wait(5.0),
        workers=2,
        max_in_flight_per_partition=5,
        max_in_flight=8,
    )
    manager.open_partition(TP0, 0, frozenset())
    manager.open_partition(TP1, 0, frozenset())
    submitted = 0
    while manager.wants_more(TP0):
        manager.submit(record(submitted))
        submitted += 1
    assert submitted == 5
    assert manager.wants_more(TP1)
    for offset in range(3):
        manager.submit(record(offset, partition=1))
    # Eight in flight overall: the global bound says "no room" (the loop stops polling);
    # TP1 is under its own bound, so it is not refused (its fetch is not paused).
    assert not manager.has_room()
    assert manager.wants_more(TP1)
    gate.set()
    settle(manager, TP0, 5)
    wait_until(lambda: manager.wants_more(TP0) and manager.has_room(), "room again")


def test_a_partition_at_its_bound_is_refused_until_back_under_half_of_it(
    managers: list[WorkManager],
) -> None:
    gates = [threading.Event() for _ in range(10)]
    manager = build(
        managers, lambda rec: gates[rec.offset].wait(5.0), max_in_flight_per_partition=10
    )
    manager.open_partition(TP0, 0, frozenset())
    for offset in range(10):
        manager.submit(record(offset))
    assert not manager.wants_more(TP0)
    for offset in range(4):
        gates[offset].set()
    wait_until(lambda: manager.in_flight == 6, "four records to finish")
    # Under the bound, but not yet under half of it: still refused (no pause/resume churn).
    assert not manager.wants_more(TP0)
    gates[4].set()
    wait_until(lambda: manager.in_flight == 5, "a fifth record to finish")
    assert manager.wants_more(TP0)
    for gate in gates:
        gate.set()


def test_uncommitted_span_is_bounded_while_one_record_is_stuck(managers: list[WorkManager]) -> None:
    gate = threading.Event()

    def handler(rec: Record) -> None:
        if rec.offset == 0:
            gate.wait(5.0)

    manager = build(
        managers,
        handler,
        ordering=Ordering.UNORDERED,
        workers=4,
        max_in_flight_per_partition=10,
        max_uncommitted_per_partition=50,
    )
    manager.open_partition(TP0, 0, frozenset())
    offset = 0
    refused_since: float | None = None
    # Feed while the manager wants more; stop once it has refused for a quarter second.
    while refused_since is None or time.monotonic() - refused_since < 0.25:
        if manager.wants_more(TP0):
            manager.submit(record(offset))
            offset += 1
            refused_since = None
        else:
            refused_since = refused_since or time.monotonic()
            time.sleep(0.001)
        assert offset <= 50
    assert offset == 50
    gate.set()
    settle(manager, TP0, 50)


def test_resume_closes_the_breaker_early(managers: list[WorkManager]) -> None:
    manager = build(
        managers,
        fail_offset_any,
        max_retries=0,
        retry_threshold=1,
        breaker_cooldown=600.0,
        on_failure=lambda f: FailedDecision.COMMIT_AND_CONTINUE,
    )
    manager.open_partition(TP0, 0, frozenset())
    manager.submit(record(0))
    wait_until(lambda: not manager.wants_more(TP0), "the breaker to open")
    manager.resume()
    assert manager.wants_more(TP0)


def test_polls_take_no_more_records_than_fit_under_the_byte_bound() -> None:
    core = Core(WorkConfig(max_in_flight_bytes=1_000_000, max_in_flight=100))
    part = core.open()
    assert core.flow.room_in_records() == 1  # sizes unknown: one record tells them
    core.scheduler.submit(part, big_records(part, range(3), 100_000))
    assert core.flow.room_in_records() == 6  # 3 of 100,001 bytes in flight: 6 more fit
    core.scheduler.submit(part, big_records(part, range(3, 12), 100_000))
    assert core.flow.room_in_records() == 1  # past the bound: still one, so polls go on
