"""The agent's state machine around fencing and session loss, with a fake clock and
fake dispatcher (no ZooKeeper, no Kafka): the transitions of docs/protocol.md."""

from __future__ import annotations

from turnout.agent import Agent, AgentConfig, AgentState, Record
from turnout.agent.config import DEFAULT_COMMIT_EVERY
from turnout.agent.dispatch import CommitPoint
from turnout.agent.holding import Holding
from turnout.agent.lease import Lease
from turnout.agent.offset_stores import Claim
from turnout.protocol import Binding, Colour, Directive, Role
from turnout.protocol.partitions import PartitionId


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeDispatcher:
    def __init__(self) -> None:
        self.closed: list[tuple[PartitionId, float]] = []

    def open_partition(self, tp: PartitionId, next_offset: int, skip: frozenset[int]) -> None: ...
    def submit(self, record: Record) -> None: ...
    def wants_more(self, tp: PartitionId) -> bool:
        return True

    def has_room(self) -> bool:
        return self.room

    def wait_for_room(self, timeout_s: float) -> None: ...

    room = True

    def commit_point(self, tp: PartitionId) -> CommitPoint | None:
        return None

    def close_partition(self, tp: PartitionId, timeout_s: float) -> CommitPoint | None:
        self.closed.append((tp, timeout_s))
        return CommitPoint(5)

    def stop_reason(self) -> str | None:
        return None

    def close(self, timeout_s: float) -> None: ...


class Recorder:
    def __init__(self) -> None:
        self.fences: list[str] = []

    def claimed(self, *args: object) -> None: ...
    def released(self, *args: object) -> None: ...
    def committed(self, *args: object) -> None: ...
    def fenced(self, reason: str) -> None:
        self.fences.append(reason)


TP0 = ("t", 0)


def _agent() -> tuple[Agent, Clock, FakeDispatcher, Recorder]:
    config = AgentConfig(
        deployment="d", colour="blue", instance="a", session_timeout_s=4, fence_margin_s=1
    )  # type: ignore[arg-type]
    recorder = Recorder()
    agent = Agent(config, lambda record: None, observer=recorder)
    clock = Clock()
    agent._lease = Lease(config.fence_after_s, clock)
    dispatcher = FakeDispatcher()
    agent._dispatcher = dispatcher
    agent._lease.start(session_id=42, sent_at=clock.now)
    agent._registered = True
    agent._set_state(AgentState.RUNNING)
    claim = Claim("g", TP0, "/owners/g/t/0", 0, 1, "a")
    agent._held[TP0] = Holding(claim=claim, start_offset=0, next_fetch=0, committed=None)
    agent._desired = {TP0}
    agent._directive = Directive.model_validate(
        {
            "epoch": 1,
            "deployment": "d",
            "live": Binding(group="g", topics=("t",)),
            "roles": {Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY},
        }
    )
    agent._active = frozenset({TP0})
    return agent, clock, dispatcher, recorder


def test_silence_past_the_fence_window_fences_and_shuts_the_gate() -> None:
    agent, clock, _, recorder = _agent()
    assert agent._may_start(TP0)
    clock.now += 3.01
    assert not agent._may_start(TP0)  # the gate needs no agent-thread step
    agent._check_lease()
    assert agent.state is AgentState.FENCED
    assert agent.metrics.snapshot()["fence_events"] == 1
    assert recorder.fences == ["lease expired"]
    assert agent._build_status().fenced


def test_a_renewal_on_the_same_session_lifts_the_fence_with_ownership_intact() -> None:
    agent, clock, _, _ = _agent()
    clock.now += 5
    agent._check_lease()
    agent._lease.renew(42, clock.now)
    agent._check_lease()
    assert agent.state is AgentState.RUNNING
    assert agent._may_start(TP0) and TP0 in agent._held
    assert agent.metrics.snapshot()["fence_events"] == 1


def test_a_fence_is_counted_once_however_long_it_lasts() -> None:
    agent, clock, _, _ = _agent()
    for _ in range(5):
        clock.now += 1
        agent._check_lease()
    assert agent.metrics.snapshot()["fence_events"] == 1


def test_session_loss_drops_everything_uncommitted_and_rejoins() -> None:
    agent, _, dispatcher, recorder = _agent()
    agent._session_lost()
    assert agent.state is AgentState.REJOINING
    assert agent._held == {} and agent._active == frozenset()
    assert dispatcher.closed == [(TP0, 0.0)]  # no drain: the ownership is already gone
    assert agent.metrics.snapshot()["commits"] == 0
    assert agent.metrics.snapshot()["sessions_lost"] == 1
    assert agent.metrics.snapshot()["partitions_lost"] == 1
    assert 42 in agent._old_sessions and not agent._registered
    assert recorder.fences == ["session lost"]
    assert not agent._may_start(TP0)


def test_commits_are_refused_without_a_valid_lease() -> None:
    agent, clock, _, _ = _agent()

    class Store:
        calls = 0

        def commit(self, points: object) -> dict[PartitionId, Exception]:
            Store.calls += 1
            return {}

    agent._store = Store()  # type: ignore[assignment]
    agent._held[TP0].latest = CommitPoint(9)
    clock.now += 10
    assert not agent._commit({TP0: agent._held[TP0]})
    assert Store.calls == 0
    assert agent.metrics.snapshot()["stale_commits_refused"] == 1


def test_a_partition_being_released_is_closed_to_new_records() -> None:
    agent, _, _, _ = _agent()
    agent._active = frozenset()
    assert not agent._may_start(TP0)


def test_a_due_commit_carries_every_partition_with_progress_in_one_request() -> None:
    agent, _, dispatcher, _ = _agent()
    tp1, tp2 = ("t", 1), ("t", 2)
    for tp in (tp1, tp2):
        claim = Claim("g", tp, f"/owners/g/t/{tp[1]}", 0, 1, "a")
        agent._held[tp] = Holding(claim=claim, start_offset=0, next_fetch=0, committed=None)
    agent._active = frozenset({TP0, tp1, tp2})
    batcher = agent._data._batcher
    for tp in (TP0, tp1, tp2):
        batcher.track(tp, 0)
    # TP0 reached the count; tp1 made some progress; tp2 none.
    points = {TP0: CommitPoint(DEFAULT_COMMIT_EVERY), tp1: CommitPoint(3)}
    dispatcher.commit_point = points.get  # type: ignore[method-assign]
    requests: list[set[PartitionId]] = []

    class Store:
        def commit(self, pending: dict[PartitionId, object]) -> dict[PartitionId, Exception]:
            requests.append(set(pending))
            return {}

    class Zk:
        connected = True

    agent._store = Store()  # type: ignore[assignment]
    agent._zk = Zk()  # type: ignore[assignment]
    agent._data.commit_due()
    assert requests == [{TP0, tp1}]
    assert batcher.committed(tp1) == 3 and batcher.committed(tp2) == 0
    agent._data.commit_due()  # nothing new: no request
    assert len(requests) == 1


def test_a_full_dispatcher_stops_the_polls_without_pausing_any_fetch() -> None:
    agent, _, dispatcher, _ = _agent()

    class Source:
        paused: frozenset[PartitionId] = frozenset()

        def __init__(self) -> None:
            self.polls = 0
            self.pauses: list[set[PartitionId]] = []

        def poll(self, timeout_s: float) -> list[object]:
            self.polls += 1
            return []

        def set_paused(self, wanted: set[PartitionId], seek: object) -> None:
            self.pauses.append(set(wanted))

        def cached_high_watermark(self, tp: PartitionId) -> int | None:
            return None

    source = Source()
    agent._data.source = source  # type: ignore[assignment]
    dispatcher.room = False
    agent._data.pump()
    agent._data.update_pauses()
    assert source.polls == 0
    assert source.pauses == [set()]  # the full dispatcher paused nothing
    dispatcher.room = True
    agent._data.pump()
    assert source.polls == 1
