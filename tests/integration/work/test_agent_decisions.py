"""Failure decisions, escalation and ordering inside the real agent (ZooKeeper ownership,
Kafka fetches and commits): what the work manager's unit tests prove on fakes, proved again
end to end, including what a successor does with what the first agent committed."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bench.assign_loop import read_committed
from tests.integration.work.committed import commits_through_waves, committed
from tests.support.agent_kit import World, wait_until
from tests.support.kafka_records import FLUSH_TIMEOUT_S, produce
from tests.support.ordering import assert_sequential
from tests.support.services import Services, create_topic, unique_name, zk_chroot
from turnout.agent import Agent
from turnout.agent.coordination import AgentState
from turnout.agent.records import Record
from turnout.agent.work import (
    Escalation,
    EscalationAction,
    FailedDecision,
    Failure,
    Ordering,
    PermanentFailure,
    WorkConfig,
    work_manager_factory,
)

#: Claiming, processing and committing ten records takes a few seconds at most.
STEP_TIMEOUT_S = 60.0
#: An agent that asked itself to stop drains and commits within its stop timeout (10 s).
SELF_STOP_TIMEOUT_S = 30.0
RECORDS = 10
FAILING = 4
#: Records produced per partition after the first RECORDS, in waves.
WAVES = 3
WAVE_SIZE = 5


class Journal:
    """Which offsets of partition 0 a handler started and finished (in order), thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started: list[int] = []
        self.finished: list[int] = []

    def start(self, offset: int) -> None:
        with self._lock:
            self.started.append(offset)

    def finish(self, offset: int) -> None:
        with self._lock:
            self.finished.append(offset)


def start_agent(
    world: World,
    instance: str,
    handler: Callable[[Record], None],
    config: WorkConfig,
    on_failure: Callable[[Failure], FailedDecision] | None = None,
    on_escalation: Callable[[Escalation], EscalationAction] | None = None,
) -> Agent:
    agent = Agent(
        world.config(instance),
        handler,
        dispatcher_factory=work_manager_factory(
            config, on_failure=on_failure, on_escalation=on_escalation
        ),
    ).start()
    world.agents[instance] = agent
    return agent


def run_successor(world: World, expected_commit: int) -> list[int]:
    """Start a healthy agent on the group; return the offsets of partition 0 it processed
    once it has committed ``expected_commit`` there."""
    journal = Journal()

    def handler(record: Record) -> None:
        if record.partition == 0:
            journal.finish(record.offset)

    successor = start_agent(world, "successor", handler, WorkConfig(ordering=Ordering.PARTITION))
    wait_until(
        lambda: committed(world) == (expected_commit, ()),
        STEP_TIMEOUT_S,
        lambda: f"the successor committed {committed(world)}, not {expected_commit}",
    )
    assert successor.stop(15)
    return journal.finished


def failing_at(offsets: set[int], journal: Journal) -> Callable[[Record], None]:
    """A handler failing permanently at ``offsets`` of partition 0 (the only partition
    whose records it journals); every other record succeeds."""

    def handler(record: Record) -> None:
        if record.partition != 0:
            return
        journal.start(record.offset)
        if record.offset in offsets:
            raise PermanentFailure(f"record {record.offset} is malformed")
        journal.finish(record.offset)

    return handler


def start_failing_agent(
    world: World, decision: FailedDecision
) -> tuple[Agent, Journal, list[Failure]]:
    """An agent in partition order over RECORDS records per partition whose record FAILING
    of partition 0 fails permanently and gets ``decision``; also the journal and the
    failures decided."""
    world.create_directive()
    produce(world.kafka, world.topic, RECORDS * world.partitions, partitions=world.partitions)
    journal = Journal()
    decided: list[Failure] = []

    def on_failure(failure: Failure) -> FailedDecision:
        decided.append(failure)
        return decision

    agent = start_agent(
        world,
        "first",
        failing_at({FAILING}, journal),
        WorkConfig(ordering=Ordering.PARTITION),
        on_failure=on_failure,
    )
    return agent, journal, decided


@pytest.mark.parametrize(
    "decision",
    [FailedDecision.COMMIT_AND_CONTINUE, FailedDecision.DO_NOT_COMMIT_AND_CONTINUE],
    ids=lambda d: d.name,
)
def test_a_continue_decision_goes_on_and_commits_past_the_record_or_holds_it(
    two_partition_world: World, decision: FailedDecision
) -> None:
    world = two_partition_world
    agent, journal, decided = start_failing_agent(world, decision)
    held = (FAILING, tuple(range(FAILING + 1, RECORDS)))
    wait_until(
        lambda: committed(world) == ((RECORDS, ()) if decision.commits else held),
        STEP_TIMEOUT_S,
        lambda: f"committed {committed(world)}",
    )
    # Later work: more records in waves. Each wave is processed, and partition 1's commits
    # show the agent committing all along; partition 0's commits keep the decision, past
    # the record (they follow each wave) or held at it (they never pass it).

    def wave_done(end: int) -> bool:
        if decision.commits:
            return committed(world) == (end, ())
        return journal.finished[-1:] == [end - 1]

    seen = commits_through_waves(
        world, first=RECORDS, waves=WAVES, wave_size=WAVE_SIZE, until=wave_done,
        timeout_s=STEP_TIMEOUT_S,
    )  # fmt: skip
    if decision.commits:
        assert all(point is not None and point[0] > FAILING for point in seen), seen
    else:
        assert {point[0] for point in seen if point is not None} == {FAILING}, seen
    total = RECORDS + WAVES * WAVE_SIZE
    # Everything after the failed record ran, once.
    assert journal.finished == [o for o in range(total) if o != FAILING]
    assert [(f.record.offset, f.attempts, f.permanent) for f in decided] == [(FAILING, 1, True)]
    assert agent.state is AgentState.RUNNING
    assert agent.stop(15)
    # A clean stop keeps the decision too, and commits every record finished past a held
    # one: a successor redoes nothing, or only the held record.
    final = committed(world)
    if decision.commits:
        assert final == (total, ())
        redo = []
    else:
        assert final == (FAILING, tuple(range(FAILING + 1, total)))
        redo = [FAILING]
    assert run_successor(world, total) == redo


@pytest.mark.parametrize(
    "decision",
    [FailedDecision.COMMIT_AND_STOP, FailedDecision.DO_NOT_COMMIT_AND_STOP],
    ids=lambda d: d.name,
)
def test_a_stop_decision_stops_the_agent_with_the_record_committed_or_held(
    the_world: World, decision: FailedDecision
) -> None:
    world = the_world
    agent, journal, _ = start_failing_agent(world, decision)
    assert agent.wait_for(lambda a: a.state is AgentState.STOPPED, SELF_STOP_TIMEOUT_S), (
        f"the agent is {agent.state}, not stopped"
    )
    assert any("asked to stop" in error for error in agent.status().errors), agent.status()
    # Partition order: nothing after the failed record started.
    assert journal.started == list(range(FAILING + 1))
    expected_next = FAILING + 1 if decision.commits else FAILING
    assert committed(world) == (expected_next, ())
    # The successor starts exactly where the decision left the group: nothing lost, nothing
    # done twice.
    assert run_successor(world, RECORDS) == list(range(expected_next, RECORDS))


def test_escalation_stop_stops_the_agent_once_failures_pass_the_threshold(
    the_world: World,
) -> None:
    world = the_world
    world.create_directive()
    produce(world.kafka, world.topic, RECORDS)
    journal = Journal()
    escalations: list[Escalation] = []

    def on_escalation(escalation: Escalation) -> EscalationAction:
        escalations.append(escalation)
        return EscalationAction.STOP

    config = WorkConfig(ordering=Ordering.PARTITION, retry_threshold=3, retry_window=60.0)
    agent = start_agent(
        world,
        "first",
        failing_at({1, 2, 3}, journal),
        config,
        on_failure=lambda failure: FailedDecision.COMMIT_AND_CONTINUE,
        on_escalation=on_escalation,
    )
    assert agent.wait_for(lambda a: a.state is AgentState.STOPPED, SELF_STOP_TIMEOUT_S), (
        f"the agent is {agent.state}, not stopped"
    )
    assert [(e.failures, e.window_s, e.last.record.offset) for e in escalations] == [(3, 60.0, 3)]
    registry = agent.metrics.registry
    assert registry.get_sample_value("turnout_work_escalations_total", {"action": "stop"}) == 1
    found = committed(world)
    assert found is not None
    next_offset, done = found
    assert done == ()
    assert FAILING <= next_offset < RECORDS, "the agent went on past the escalation"
    # The first agent's work and the successor's add up to every record, none twice.
    assert journal.finished == [0, *range(FAILING, next_offset)]
    assert run_successor(world, RECORDS) == list(range(next_offset, RECORDS))


def test_escalation_pause_opens_the_breaker_for_its_cooldown_then_consumption_resumes(
    the_world: World,
) -> None:
    world = the_world
    world.create_directive()
    first_wave = 5
    produce(world.kafka, world.topic, first_wave)
    journal = Journal()
    finished_at: dict[int, float] = {}
    escalated_at: list[float] = []

    def handler(record: Record) -> None:
        journal.start(record.offset)
        if record.offset in (1, 2, 3):
            raise PermanentFailure("malformed")
        finished_at[record.offset] = time.monotonic()
        journal.finish(record.offset)

    def on_escalation(escalation: Escalation) -> EscalationAction:
        escalated_at.append(time.monotonic())
        return EscalationAction.PAUSE

    cooldown = 3.0
    config = WorkConfig(
        ordering=Ordering.PARTITION,
        retry_threshold=3,
        retry_window=60.0,
        breaker_cooldown=cooldown,
    )
    agent = start_agent(
        world,
        "first",
        handler,
        config,
        on_failure=lambda failure: FailedDecision.COMMIT_AND_CONTINUE,
        on_escalation=on_escalation,
    )
    registry = agent.metrics.registry

    def breaker_open() -> float | None:
        return registry.get_sample_value("turnout_work_breaker_open")

    wait_until(lambda: breaker_open() == 1, STEP_TIMEOUT_S, lambda: f"gauge {breaker_open()}")
    wait_until(
        lambda: committed(world) == (first_wave, ()), STEP_TIMEOUT_S, lambda: f"{committed(world)}"
    )
    assert len(escalated_at) == 1
    # A second wave arrives while the breaker is open: none of it starts until the
    # cooldown has passed, then all of it is processed and committed.
    produce(world.kafka, world.topic, RECORDS - first_wave)
    wait_until(
        lambda: committed(world) == (RECORDS, ()), STEP_TIMEOUT_S, lambda: f"{committed(world)}"
    )
    second = [finished_at[o] for o in range(first_wave, RECORDS)]
    assert min(second) >= escalated_at[0] + cooldown - 0.1, (
        f"a record started {min(second) - escalated_at[0]:.2f} s after the breaker opened"
    )
    assert journal.finished == [0, 4, *range(first_wave, RECORDS)]
    assert agent.state is AgentState.RUNNING
    assert breaker_open() == 0
    assert registry.get_sample_value("turnout_work_escalations_total", {"action": "pause"}) == 1
    assert agent.stop(15)


# ---- ordering over random keys and failures, on real Kafka --------------------------------

#: Each example starts an agent on a topic of its own (~2-3 s); a few cover the shapes.
EXAMPLES = 4
#: No shrinking: each shrink step is another agent run, and a failure took minutes to
#: shrink; the unit property tests shrink the same workloads on fakes in milliseconds.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)
real_kafka_examples = settings(
    max_examples=EXAMPLES,
    phases=PHASES,
    deadline=None,
    # The services fixture is session-wide; each example makes its own topic and chroot.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PARTITIONS = 2


@st.composite
def workloads(draw: st.DrawFn) -> tuple[list[int], dict[int, int]]:
    """(key per record in production order, transient failures per record index)."""
    keys = draw(st.integers(min_value=1, max_value=12))
    length = draw(st.integers(min_value=20, max_value=200))
    key_of = draw(st.lists(st.integers(0, keys - 1), min_size=length, max_size=length))
    failures = draw(
        st.dictionaries(st.integers(0, length - 1), st.integers(1, 2), max_size=length // 4)
    )
    return key_of, failures


def run_in_agent(
    services: Services, tmp_path: Path, ordering: Ordering, key_of: list[int],
    failures: dict[int, int],
) -> tuple[list[tuple[tuple[int, int], int, str]], dict[tuple[int, int], int]]:  # fmt: skip
    """Produce the workload (key k goes to partition k % PARTITIONS), consume it in an
    agent with the given ordering; return the handler events ((partition, offset), key,
    kind) in the order they happened, and each record's key."""
    events: list[tuple[tuple[int, int], int, str]] = []
    attempts: dict[tuple[int, int], int] = defaultdict(int)
    key_at: dict[tuple[int, int], int] = {}
    # Production index of each (partition, offset): offsets count per partition.
    next_offset = [0] * PARTITIONS
    failing: dict[tuple[int, int], int] = {}
    for index, key in enumerate(key_of):
        where = (key % PARTITIONS, next_offset[key % PARTITIONS])
        next_offset[key % PARTITIONS] += 1
        key_at[where] = key
        if index in failures:
            failing[where] = failures[index]
    lock = threading.Lock()

    def handler(record: Record) -> None:
        where = (record.partition, record.offset)
        with lock:
            attempts[where] += 1
            events.append((where, key_at[where], "start"))
            fails = attempts[where] <= failing.get(where, 0)
        # A little I/O-like wait, so lanes really overlap.
        time.sleep(0.0005)
        with lock:
            events.append((where, key_at[where], "fail" if fails else "end"))
        if fails:
            raise RuntimeError("transient")

    topic = unique_name("ordering")
    create_topic(services.kafka, topic, PARTITIONS)
    producer = Producer({"bootstrap.servers": services.kafka, "linger.ms": 5})
    for key in key_of:
        producer.produce(topic, key=b"%d" % key, value=b"v", partition=key % PARTITIONS)
    assert producer.flush(FLUSH_TIMEOUT_S) == 0
    config = WorkConfig(
        ordering=ordering, workers=8, run_size=3, max_retries=2,
        backoff=0.001, backoff_max=0.004, backoff_jitter=0.002,
    )  # fmt: skip
    expected = {(topic, p): next_offset[p] for p in range(PARTITIONS) if next_offset[p]}
    with zk_chroot(services.zookeeper, "ordering") as zookeeper:
        world = World(
            zookeeper, services.kafka, topic, unique_name("group"), PARTITIONS, tmp_path / topic
        )
        try:
            world.create_directive()
            start_agent(
                world, "solo", handler, config,
                on_failure=lambda failure: FailedDecision.DO_NOT_COMMIT_AND_STOP,
            )  # fmt: skip

            def all_committed() -> bool:
                found = read_committed(services.kafka, world.group, list(expected))
                return all(found.get(tp, (-1, None))[0] == n for tp, n in expected.items())

            wait_until(all_committed, STEP_TIMEOUT_S, f"every record committed: {expected}")
        finally:
            world.close()
    return events, key_at


@real_kafka_examples
@given(workloads())
def test_key_mode_keeps_each_keys_order_across_retries_and_workers_on_real_kafka(
    services: Services, tmp_path: Path, workload: tuple[list[int], dict[int, int]]
) -> None:
    key_of, failures = workload
    events, key_at = run_in_agent(services, tmp_path, Ordering.KEY, key_of, failures)
    assert_sequential(events, {where: (where[0], key) for where, key in key_at.items()})
    assert sorted(w for w, _, kind in events if kind == "end") == sorted(key_at)


@real_kafka_examples
@given(workloads())
def test_partition_mode_is_strictly_sequential_across_retries_on_real_kafka(
    services: Services, tmp_path: Path, workload: tuple[list[int], dict[int, int]]
) -> None:
    key_of, failures = workload
    events, key_at = run_in_agent(services, tmp_path, Ordering.PARTITION, key_of, failures)
    assert_sequential(events, {where: where[0] for where in key_at})
    for partition in range(PARTITIONS):
        ended = [w[1] for w, _, kind in events if kind == "end" and w[0] == partition]
        assert ended == sorted(o for p, o in key_at if p == partition)
