"""Model-based test of the agent's state machine (T13 of style_and_reliability.md).

Two or three real agents (``AgentLoop``: their state machine, agreement, claims, releases
and commits) run over an in-memory ZooKeeper (``tests/support/fake_zookeeper.py``), a Kafka
without records (``tests/support/fake_kafka.py``) and one clock that only the test moves.
No thread runs: the test is the scheduler. It runs an agent's loop one step at a time,
its heartbeat one renewal at a time, kazoo's event thread one notification at a time and
the dispatcher's workers one record at a time, and hypothesis picks the interleaving:
steps, time passing, late watch notifications (some of them stale, from a lost session),
connections dropping (SUSPENDED) and coming back (CONNECTED, or LOST and a new session),
sessions expiring, replies lost, the process freezing in the middle of a step while the
others take over, new directives (switch, pause, strategy and pins), partitions added,
agents joining, stopping cleanly and crashing.

Checked after every rule, and at every record processed and every offset committed:
- I2: at any instant at most one agent may start records of a partition (its gate is
  open: it holds the partition and its lease is valid), and that agent's current session
  holds the partition's owner node; every partition an agent holds while its lease is
  valid has its owner node held by that lease's session;
- I5: an offset is committed only by an agent with a valid lease whose session holds the
  owner node and which holds the partition; committed offsets never go back, and never
  pass what was processed (every offset below a commit was processed by someone);
- I4: a new owner starts exactly at the committed offset.
At the end, with the faults healed and time passing (watches delivered, leases renewed,
silent sessions expired), the cluster converges: every partition of the live binding has
exactly one owner node, of the live colour at the newest epoch, held by the instance the
strategy names; the standby colour holds nothing; no ephemeral of a dead session is left;
every owner's commits catch up with what it processed.

More examples: ``TURNOUT_MODEL_EXAMPLES=2000 TURNOUT_MODEL_STEPS=120 .venv/bin/pytest
tests/unit/agent/coordination/test_agent_model.py --timeout 0``
(``TURNOUT_MODEL_RANDOMIZE=1`` draws new interleavings on every run instead of the fixed,
derandomized ones).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Concatenate, ParamSpec

from confluent_kafka import KafkaError, KafkaException
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tests.support.fake_kafka import FakeKafka, FakeSource
from tests.support.fake_zookeeper import FakeGateway, FakeZooKeeper
from tests.unit.agent.kit import Clock
from turnout.agent import AgentConfig, AgentState, CommitPoint, DispatchContext, Record
from turnout.agent.config import OffsetStoreName
from turnout.agent.coordination import AgentLoop
from turnout.agent.environment import AgentEnvironment
from turnout.protocol import (
    AbsentPinPolicy,
    Binding,
    Colour,
    DeploymentPaths,
    Directive,
    InstanceStatus,
    Ownership,
    PartitionRef,
    Role,
    Strategy,
    ZkOffset,
)
from turnout.protocol.assignment import compute_assignment
from turnout.protocol.directives import DirectiveStore
from turnout.protocol.partitions import PartitionId
from turnout.protocol.paths import DEFAULT_ROOT

#: Examples and steps per example: a few seconds each in CI; raise them to explore more.
EXAMPLES = int(os.environ.get("TURNOUT_MODEL_EXAMPLES", "200"))
STEPS = int(os.environ.get("TURNOUT_MODEL_STEPS", "80"))
RANDOMIZE = os.environ.get("TURNOUT_MODEL_RANDOMIZE") == "1"

SESSION_TIMEOUT_S = 4.0
FENCE_MARGIN_S = 1.0
#: Small batches, so that commits (and commits racing with faults) happen often.
COMMIT_EVERY = 3
COMMIT_INTERVAL_S = 0.5
DEPLOYMENT = "billing"
GROUP = "billing"
#: Topic -> partitions at the start; ``partition_added`` grows them up to MAX_PARTITIONS.
TOPICS = {"alpha": 2, "beta": 1}
MAX_PARTITIONS = 5
NAMES = {Colour.BLUE: ("blue-1", "blue-2"), Colour.GREEN: ("green-1", "green-2")}
ALL_NAMES = tuple(name for names in NAMES.values() for name in names)
MAX_RUNNING = 3
PATHS = DeploymentPaths(DEFAULT_ROOT, DEPLOYMENT)
#: Healing at the end: one round is every agent delivering, renewing, stepping and
#: processing a record, then this much time passing (within the heartbeat interval).
SETTLE_TICK_S = 0.2
#: Enough for a silent session to expire (S), partition counts to be re-read (5 s) and
#: the ten-second resync, with room to spare.
SETTLE_ROUNDS = 150

P = ParamSpec("P")


def _note(label: str) -> None:
    """Count ``label`` for ``--hypothesis-show-statistics``; nothing outside hypothesis
    (the regression tests below drive the model by hand)."""
    if currently_in_test_context():
        event(label)


class ModelDispatcher:
    """The agent's ``Dispatcher`` as the model needs it: an open partition's next records
    complete when the test says so (``process``), each only if the agent's gate allows
    it at that moment, as a real dispatcher asks ``may_start`` before starting a record."""

    def __init__(
        self,
        context: DispatchContext,
        on_open: Callable[[PartitionId, int], None],
        on_processed: Callable[[PartitionId, int], None],
    ) -> None:
        self.context = context
        self._on_open = on_open
        self._on_processed = on_processed
        #: tp -> [next offset to complete, next offset as last reported].
        self.lanes: dict[PartitionId, list[int]] = {}

    def open_partition(self, tp: PartitionId, next_offset: int, skip: frozenset[int]) -> None:
        self._on_open(tp, next_offset)
        self.lanes[tp] = [next_offset, next_offset]

    def submit(self, record: Record) -> None:
        raise AssertionError("the fake Kafka fetches no records")

    def submit_run(self, tp: PartitionId, records: object) -> None:
        raise AssertionError("the fake Kafka fetches no records")

    def set_high_watermark(self, tp: PartitionId, high_watermark: int) -> None:
        return None

    def wants_more(self, tp: PartitionId) -> bool:
        return True

    def has_room(self) -> bool:
        return True

    def commit_point(self, tp: PartitionId) -> CommitPoint | None:
        lane = self.lanes.get(tp)
        if lane is None or lane[0] == lane[1]:
            return None
        lane[1] = lane[0]
        return CommitPoint(lane[0])

    def close_partition(self, tp: PartitionId, timeout_s: float) -> CommitPoint | None:
        lane = self.lanes.pop(tp, None)
        return None if lane is None else CommitPoint(lane[0])

    def stop_reason(self) -> str | None:
        return None

    def close(self, timeout_s: float) -> None:
        self.lanes.clear()

    def process(self, records: int) -> int:
        """The workers complete up to ``records`` records per open partition; how many."""
        done = 0
        for tp, lane in sorted(self.lanes.items()):
            for _ in range(records):
                if not self.context.may_start(tp):
                    break
                self._on_processed(tp, lane[0])
                lane[0] += 1
                done += 1
        return done


class Member:
    """One agent process of the model: the real ``AgentLoop`` with its fakes, run by hand
    (the test stands in for ``Agent``'s threads)."""

    def __init__(self, model: AgentModel, name: str, colour: Colour) -> None:
        self.name = name
        self.colour = colour
        self.gateway: FakeGateway | None = None
        self.sources: list[FakeSource] = []
        self.dispatcher: ModelDispatcher | None = None
        self._model = model
        config = AgentConfig(
            deployment=DEPLOYMENT,
            colour=colour,
            instance=name,
            session_timeout_s=SESSION_TIMEOUT_S,
            fence_margin_s=FENCE_MARGIN_S,
            offset_store=model.offset_store,
            commit_every=COMMIT_EVERY,
            commit_interval_s=COMMIT_INTERVAL_S,
        )
        environment = AgentEnvironment(
            clock=model.clock,
            new_gateway=self._new_gateway,
            new_source=self._new_source,
            sleep=model.clock.advance,
            heartbeat_thread=False,
        )
        self.loop = AgentLoop(
            config,
            lambda record: None,
            dispatcher_factory=self._new_dispatcher,
            environment=environment,
        )

    def _new_gateway(self, config: AgentConfig) -> FakeGateway:
        assert self.gateway is None, "the agent connects once per life"
        self.gateway = self._model.zookeeper.client()
        return self.gateway

    def _new_source(self, config: AgentConfig, group: str) -> FakeSource:
        source = self._model.kafka.source(config.instance, group)
        self.sources.append(source)
        return source

    def _new_dispatcher(self, context: DispatchContext) -> ModelDispatcher:
        self.dispatcher = ModelDispatcher(
            context,
            on_open=functools.partial(self._model.partition_opened, self),
            on_processed=functools.partial(self._model.record_processed, self),
        )
        return self.dispatcher

    # ---- the agent's threads, one turn at a time ----------------------------------------

    def step(self) -> None:
        """One turn of the agent thread's loop; the test, not a wait, decides when the
        next one comes."""
        self.loop.step()

    def renew(self) -> None:
        """One turn of the heartbeat thread."""
        self.loop.session.renew_lease()

    def deliver(self, limit: int | None = None) -> int:
        """Kazoo's event thread runs queued notifications."""
        return self.gateway.deliver(limit) if self.gateway is not None else 0

    def process(self, records: int) -> int:
        return self.dispatcher.process(records) if self.dispatcher is not None else 0

    def stop(self) -> None:
        """A clean stop: what the agent thread does once ``stop()`` asked it to."""
        self.loop.shutdown()

    # ---- what the checks read ------------------------------------------------------------

    def may_start(self, tp: PartitionId) -> bool:
        """The gate, as the dispatcher's workers ask it."""
        assert self.dispatcher is not None
        return self.dispatcher.context.may_start(tp)

    def fetching(self, tp: PartitionId) -> bool:
        """Whether the consumer fetches ``tp``: assigned and not paused."""
        source = self.loop.data.feed.source
        return source is not None and source.is_fetching(tp)

    def lease_valid(self) -> bool:
        return self.loop.session.lease.valid()

    @property
    def lease_session(self) -> int:
        return self.loop.session.lease.session_id

    def held(self) -> frozenset[PartitionId]:
        return frozenset(self.loop.data.feed.held)

    def held_open(self) -> frozenset[PartitionId]:
        """Held and not closed for a release (a release whose delete's reply was lost
        keeps the partition, closed, though the node may be gone)."""
        return frozenset(tp for tp, h in self.loop.data.feed.held.items() if not h.closed)

    def held_closed(self) -> bool:
        """Whether a partition is held closed: a release left half done."""
        return any(h.closed for h in self.loop.data.feed.held.values())

    def held_epoch(self, tp: PartitionId) -> int:
        return self.loop.data.feed.held[tp].claim.epoch

    @property
    def state(self) -> AgentState:
        return self.loop.board.state

    def status(self) -> InstanceStatus:
        return self.loop.board.shown()

    def counter(self, name: str) -> float:
        return self.loop.metrics.snapshot()[name]

    def __repr__(self) -> str:
        return f"<{self.name} {self.state}>"


def _tracked(
    rule_body: Callable[Concatenate[AgentModel, P], None],
) -> Callable[Concatenate[AgentModel, P], None]:
    """Note that a rule is under way, so that teardown knows whether the run ended
    cleanly (only then is convergence checked: after a failure, the failure is the
    report)."""

    @functools.wraps(rule_body)
    def run(model: AgentModel, /, *args: P.args, **kwargs: P.kwargs) -> None:
        model.interrupted = True
        rule_body(model, *args, **kwargs)
        model.interrupted = False

    return run


agent_picks = st.integers(min_value=0, max_value=MAX_RUNNING - 1)
partition_keys = st.sampled_from(
    [f"{topic}/{p}" for topic in TOPICS for p in range(MAX_PARTITIONS - 1)]
)


class AgentModel(RuleBasedStateMachine):
    """The deployment: a control plane writing directives, up to three agents of either
    colour, one ZooKeeper, one Kafka and one clock; offsets in Kafka."""

    offset_store: OffsetStoreName = "kafka"

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.zookeeper = FakeZooKeeper(self.clock, SESSION_TIMEOUT_S)
        self.zookeeper.on_set = self._zookeeper_write
        self.kafka = FakeKafka(TOPICS)
        self.kafka.on_commit = self._kafka_commit
        self.control = self.zookeeper.client()
        self.control.start()
        self.directives = DirectiveStore(self.control, PATHS)
        self.directives.create(
            Directive(
                epoch=1,
                deployment=DEPLOYMENT,
                live=Binding(group=GROUP, topics=tuple(TOPICS)),
                roles={Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY},
                strategy=Strategy.STICKY,
            )
        )
        self.running: dict[str, Member] = {}
        #: Stopped and crashed agents: a session of theirs may linger until it expires.
        self.gone: list[Member] = []
        #: Offsets processed by anyone, and the highest commit seen, per partition.
        self.processed: dict[PartitionId, set[int]] = {}
        self.committed: dict[PartitionId, int] = {}
        self.violations: list[str] = []
        #: A fault is armed inside some agent's coming requests (one at a time).
        self.armed: Member | None = None
        self.interrupted = False

    # ---- helpers ------------------------------------------------------------------------

    def _members(self) -> list[Member]:
        return [self.running[name] for name in sorted(self.running)]

    def _pick(self, who: int) -> Member | None:
        members = self._members()
        return members[who % len(members)] if members else None

    def _partitions(self) -> list[PartitionId]:
        return [(t, p) for t, n in sorted(self.kafka.partitions.items()) for p in range(n)]

    def _directive(self) -> Directive:
        current = self.directives.read()
        assert current is not None
        return current.directive

    def _member_of_gateway(self, gateway: FakeGateway | None) -> Member | None:
        for member in [*self.running.values(), *self.gone]:
            if member.gateway is gateway:
                return member
        return None

    def _member_of_source(self, source: FakeSource) -> Member | None:
        for member in [*self.running.values(), *self.gone]:
            if source in member.sources:
                return member
        return None

    def _owner(self, tp: PartitionId) -> tuple[Ownership, int] | None:
        """The owner node of ``tp``: its content and its session, or None."""
        node = self.zookeeper.nodes.get(PATHS.owner(GROUP, tp[0], tp[1]))
        if node is None:
            return None
        return Ownership.from_bytes(node.data), node.ephemeral_owner

    def _violation(self, message: str) -> None:
        self.violations.append(f"t={self.clock.now - 1000:.2f}: {message}")

    def _holds_owner_node(self, member: Member, tp: PartitionId) -> str | None:
        """Why ``member`` does not hold ``tp``'s owner node under its current lease; None
        if it does."""
        found = self._owner(tp)
        if found is None:
            return f"{member.name} acts on {tp} but its owner node is gone"
        ownership, session = found
        if session != member.lease_session or ownership.instance != member.name:
            return (
                f"{member.name} (session {member.lease_session:#x}) acts on {tp} but its "
                f"owner node is {ownership.instance}'s (session {session:#x})"
            )
        if not self.zookeeper.session_alive(session):
            return f"{member.name} acts on {tp} under a dead session {session:#x}"
        return None

    # ---- what the fakes report ------------------------------------------------------------

    def partition_opened(self, member: Member, tp: PartitionId, next_offset: int) -> None:
        """A claim hands a partition to the dispatcher: it starts at the commit (I4)."""
        expected = self._stored_offset(tp)
        if next_offset != expected:
            self._violation(
                f"{member.name} starts {tp} at {next_offset}, the committed offset is {expected}"
            )

    def record_processed(self, member: Member, tp: PartitionId, offset: int) -> None:
        """A worker of ``member`` passed the gate and completed ``offset`` (I2)."""
        others = [m.name for m in self.running.values() if m is not member and m.may_start(tp)]
        if others:
            self._violation(f"{member.name} processes {tp}@{offset} while {others} may too")
        problem = self._holds_owner_node(member, tp)
        if problem is not None:
            self._violation(f"processing {tp}@{offset}: {problem}")
        else:
            found = self._owner(tp)
            assert found is not None
            if found[0].epoch < member.held_epoch(tp):
                self._violation(f"{member.name} processes {tp} under an epoch ZooKeeper lacks")
        self.processed.setdefault(tp, set()).add(offset)

    # The hooks below run inside the agent's calls to its offset store, which takes any
    # exception for a failed commit: they record violations and never raise.

    def _kafka_commit(
        self, source: FakeSource, offsets: Mapping[PartitionId, tuple[int, str]]
    ) -> None:
        member = self._member_of_source(source)
        if member is None:
            self._violation(f"a commit through a consumer of no agent: {source.instance}")
            return
        if source.closed:
            self._violation(f"{member.name} commits through a closed consumer")
        for tp, (offset, _) in offsets.items():
            self._check_commit(member, tp, offset)

    def _zookeeper_write(
        self, writer: FakeGateway | None, path: str, old: bytes, new: bytes
    ) -> None:
        """The ZooKeeper offset store's commits are sets of ``offsets/...`` nodes."""
        prefix = f"{PATHS.offsets}/{GROUP}/"
        if not path.startswith(prefix):
            return
        before, after = ZkOffset.from_bytes(old).offset, ZkOffset.from_bytes(new).offset
        if after is None or after == before:
            return  # a claim stamping the node (claimed_by), not a commit
        topic, _, partition = path.removeprefix(prefix).rpartition("/")
        member = self._member_of_gateway(writer)
        if member is None:
            self._violation(f"{path} committed by no agent")
            return
        self._check_commit(member, (topic, int(partition)), after)

    def _check_commit(self, member: Member, tp: PartitionId, offset: int) -> None:
        """I5: only the holder commits, never back, never past what was processed.

        With Kafka offsets the lease is the only guard, and the model never stops a process
        between the lease check and a Kafka commit (that window, one commit RPC, is what
        the fence margin covers), so the lease must still be valid when it lands. With
        ZooKeeper offsets the commit is a transaction that checks the owner node: a
        process frozen after its lease check may land it late, and what must hold then is
        that the node is still its own."""
        if self.offset_store == "kafka" and not member.lease_valid():
            self._violation(f"{member.name} commits {tp}@{offset} without a valid lease")
        if tp not in member.held():
            self._violation(f"{member.name} commits {tp}@{offset} without holding it")
        problem = self._holds_owner_node(member, tp)
        if problem is not None:
            self._violation(f"commit of {tp}@{offset}: {problem}")
        before = self.committed.get(tp, 0)
        if offset < before:
            self._violation(f"{member.name} moves the commit of {tp} back: {before} -> {offset}")
        missing = [o for o in range(offset) if o not in self.processed.get(tp, set())]
        if missing:
            self._violation(f"{member.name} commits {tp}@{offset}; never processed: {missing}")
        self.committed[tp] = max(before, offset)

    def _stored_offset(self, tp: PartitionId) -> int:
        """The committed offset a new owner must start at (0: none; earliest)."""
        if self.offset_store == "kafka":
            found = self.kafka.committed.get((GROUP, tp))
            return found[0] if found is not None else 0
        node = self.zookeeper.nodes.get(PATHS.offset(GROUP, tp[0], tp[1]))
        stored = ZkOffset.from_bytes(node.data).offset if node is not None else None
        return stored or 0

    # ---- the cluster ----------------------------------------------------------------------

    def _start(self, name: str, colour: Colour) -> None:
        self.running[name] = Member(self, name, colour)

    def _retire(self, member: Member) -> None:
        del self.running[member.name]
        self.gone.append(member)
        if self.armed is member:
            self.armed = None

    def _round(self, *, skip: Member | None = None) -> None:
        """Every agent but ``skip`` does a healthy turn; then a little time passes."""
        for member in self._members():
            if member is skip:
                continue
            member.deliver()
            member.renew()
            member.step()
            member.process(1)
        self.clock.advance(SETTLE_TICK_S / 2)

    def _expire_silent_sessions(self) -> None:
        for member in [*self.running.values(), *self.gone]:
            gateway = member.gateway
            if gateway is not None and gateway.expirable(self.clock.now):
                gateway.expire()

    @initialize(blue=st.integers(min_value=1, max_value=2), green=st.integers(0, 1))
    @_tracked
    def start_cluster(self, blue: int, green: int) -> None:
        for name in NAMES[Colour.BLUE][:blue]:
            self._start(name, Colour.BLUE)
        for name in NAMES[Colour.GREEN][:green]:
            self._start(name, Colour.GREEN)

    # ---- the agents' threads --------------------------------------------------------------

    @rule(who=agent_picks, steps=st.integers(1, 3))
    @_tracked
    def step(self, who: int, steps: int) -> None:
        member = self._pick(who)
        for _ in range(steps if member is not None else 0):
            assert member is not None
            member.step()

    @rule()
    @_tracked
    def healthy_round(self) -> None:
        self._round()

    @rule(who=agent_picks, records=st.integers(1, 4))
    @_tracked
    def process_records(self, who: int, records: int) -> None:
        member = self._pick(who)
        if member is not None and member.process(records):
            _note("records processed")

    @rule(who=agent_picks)
    @_tracked
    def renew_lease(self, who: int) -> None:
        member = self._pick(who)
        if member is not None:
            member.renew()

    @rule(who=agent_picks, limit=st.integers(1, 4))
    @_tracked
    def deliver_notifications(self, who: int, limit: int) -> None:
        member = self._pick(who)
        if member is not None and member.deliver(limit):
            _note("notification delivered")

    @rule(
        seconds=st.sampled_from([0.01, 0.05, 0.2, 0.5, 1.0, 2.0, 3.5, 4.5]),
        heartbeats=st.booleans(),
    )
    @_tracked
    def time_passes(self, seconds: float, heartbeats: bool) -> None:
        """Time passes; the heartbeat threads ran through it, or were starved."""
        self.clock.advance(seconds)
        if heartbeats:
            for member in self._members():
                member.renew()

    # ---- ZooKeeper faults -----------------------------------------------------------------

    @rule(who=agent_picks)
    @_tracked
    def connection_drops(self, who: int) -> None:
        member = self._pick(who)
        if member is not None and member.gateway is not None:
            member.gateway.disconnect(self.clock.now)

    @rule(who=agent_picks)
    @_tracked
    def connection_returns(self, who: int) -> None:
        member = self._pick(who)
        if member is not None and member.gateway is not None:
            if member.gateway.session is not None and not member.gateway.session.alive:
                _note("reconnected after the session expired (LOST)")
            member.gateway.reconnect()

    @precondition(
        lambda self: any(
            m.gateway is not None and m.gateway.expirable(self.clock.now)
            for m in [*self.running.values(), *self.gone]
        )
    )
    @rule(which=st.integers(0, 7))
    @_tracked
    def session_expires(self, which: int) -> None:
        """The server expires one session it has not heard from for the session timeout."""
        silent = [
            m.gateway
            for m in [*self.running.values(), *self.gone]
            if m.gateway is not None and m.gateway.expirable(self.clock.now)
        ]
        silent[which % len(silent)].expire()
        _note("session expired")

    @precondition(lambda self: self.armed is None)
    @rule(
        who=agent_picks,
        after=st.integers(1, 12),
        fault=st.sampled_from(["connection drops", "reply lost", "freeze"]),
        freeze_s=st.sampled_from([0.5, 2.0, 3.5, 5.0]),
    )
    @_tracked
    def fault_inside_a_request(self, who: int, after: int, fault: str, freeze_s: float) -> None:
        """Arm a fault at one of the agent's coming ZooKeeper requests, so it hits in the
        middle of a step (between two requests of one reconcile, a claim, a release...).

        A freeze is the process stopped (SIGSTOP, a GC pause) just before sending: the
        server hears nothing, the other agents go on and, past the session timeout,
        take over; on waking, kazoo reconnects (LOST and a new session if it expired)
        and the agent's step goes on with its request, on whatever session there now is.
        """
        member = self._pick(who)
        if member is None or member.gateway is None:
            return
        gateway = member.gateway

        def strike() -> None:
            self.armed = None
            _note(f"fault inside a request: {fault}")
            if fault == "connection drops":
                gateway.disconnect(self.clock.now)
            elif fault == "reply lost":
                gateway.lose_reply()
            else:
                self._freeze(member, freeze_s)

        self.armed = member
        gateway.interrupt(after, strike)

    def _freeze(self, member: Member, seconds: float) -> None:
        """Runs inside the frozen agent's request, so inside code of it that may take any
        exception for a failed commit: whatever goes wrong is recorded, never raised."""
        gateway = member.gateway
        assert gateway is not None
        gateway.disconnect(self.clock.now)
        try:
            for _ in range(round(seconds / (SETTLE_TICK_S / 2))):
                self._round(skip=member)
                self._expire_silent_sessions()
                self.violations.extend(self._ownership_problems())
        except Exception as exc:
            self._violation(f"while {member.name} was frozen: {exc!r}")
        gateway.reconnect()

    # ---- Kafka faults -------------------------------------------------------------------------

    @rule(who=agent_picks, cluster_up=st.booleans())
    @_tracked
    def consumer_cut_off(self, who: int, cluster_up: bool) -> None:
        """The agent's consumer fails every metadata read from now on: cut off from a
        cluster a new client still reaches, or the cluster is down. Only a new consumer
        (or the end's healing) reads again."""
        member = self._pick(who)
        if member is not None and member.sources:
            member.sources[-1].metadata_error = KafkaException(KafkaError(KafkaError._TRANSPORT))
            member.sources[-1].cluster_up = cluster_up

    # ---- the control plane ------------------------------------------------------------------

    @rule(change=st.sampled_from(["switch colours", "pause", "resume", "touch"]))
    @_tracked
    def directive_changes(self, change: str) -> None:
        def changed(directive: Directive) -> Directive:
            if change == "switch colours":
                roles = {
                    c: Role.STANDBY if r is Role.LIVE else Role.LIVE
                    for c, r in directive.roles.items()
                }
                return directive.model_copy(update={"roles": roles})
            if change in ("pause", "resume"):
                return directive.model_copy(update={"paused": change == "pause"})
            return directive.model_copy(update={"operation_id": f"op-{directive.epoch}"})

        self.directives.update(changed)

    @rule(
        strategy=st.sampled_from(Strategy),
        pins=st.dictionaries(partition_keys, st.sampled_from(ALL_NAMES), max_size=3),
        policy=st.sampled_from(AbsentPinPolicy),
    )
    @_tracked
    def strategy_changes(
        self, strategy: Strategy, pins: dict[str, str], policy: AbsentPinPolicy
    ) -> None:
        manual = strategy is Strategy.MANUAL
        self.directives.update(
            lambda directive: directive.model_copy(
                update={
                    "strategy": strategy,
                    "pins": pins if manual else {},
                    "absent_pin_policy": policy,
                }
            )
        )

    @precondition(lambda self: sum(self.kafka.partitions.values()) < MAX_PARTITIONS)
    @rule(topic=st.sampled_from(sorted(TOPICS)))
    @_tracked
    def partition_added(self, topic: str) -> None:
        self.kafka.partitions[topic] += 1

    # ---- agents come and go -------------------------------------------------------------------

    @precondition(lambda self: len(self.running) < MAX_RUNNING)
    @rule(name=st.sampled_from(ALL_NAMES))
    @_tracked
    def agent_starts(self, name: str) -> None:
        if name not in self.running:
            self._start(name, Colour.BLUE if name.startswith("blue") else Colour.GREEN)

    # A cluster left empty has nothing to show: one agent at least stays.
    @precondition(lambda self: len(self.running) > 1)
    @rule(who=agent_picks)
    @_tracked
    def agent_stops(self, who: int) -> None:
        member = self._pick(who)
        if member is not None:
            member.stop()
            self._retire(member)

    @precondition(lambda self: len(self.running) > 1)
    @rule(who=agent_picks)
    @_tracked
    def agent_crashes(self, who: int) -> None:
        """SIGKILL: the process is gone; its session expires a session timeout later."""
        member = self._pick(who)
        if member is not None:
            if member.gateway is not None:
                member.gateway.disconnect(self.clock.now)
            self._retire(member)

    # ---- invariants ---------------------------------------------------------------------------

    @invariant()
    def ownership_is_exclusive_and_commits_are_safe(self) -> None:
        self.interrupted = True
        self._check_ownership()
        self.interrupted = False

    def _check_ownership(self) -> None:
        problems = [*self.violations, *self._ownership_problems()]
        assert not problems, "\n".join(problems)

    def _ownership_problems(self) -> list[str]:
        problems: list[str] = []
        members = self._members()
        for tp in self._partitions():
            gates = [m.name for m in members if m.may_start(tp)]
            if len(gates) > 1:
                problems.append(f"{tp} may be processed by {gates} at once")
        for member in members:
            if not member.lease_valid():
                continue
            for tp in sorted(member.held_open()):
                problem = self._holds_owner_node(member, tp)
                if problem is not None:
                    problems.append(f"with a valid lease, {problem}")
        for tp, offset in self._stored_offsets().items():
            if offset < self.committed.get(tp, 0):
                problems.append(f"the commit of {tp} went back to {offset}")
        return problems

    def _stored_offsets(self) -> dict[PartitionId, int]:
        return {tp: self._stored_offset(tp) for tp in self._partitions()}

    # ---- the end: faults stop, the cluster converges ------------------------------------------

    def teardown(self) -> None:
        if not self.interrupted:
            self._faults_stop_and_the_cluster_converges()
            self._report()

    def _faults_stop_and_the_cluster_converges(self) -> None:
        if self.armed is not None and self.armed.gateway is not None:
            self.armed.gateway.disarm()
        self.armed = None
        for member in self._members():
            for source in member.sources:
                source.metadata_error = None
        gaps: list[str] = ["not looked yet"]
        for _ in range(SETTLE_ROUNDS):
            self._expire_silent_sessions()
            for member in self._members():
                if member.gateway is not None:
                    member.gateway.reconnect()
            self._round()
            self.clock.advance(SETTLE_TICK_S / 2)
            self._check_ownership()
            gaps = self._convergence_gaps()
            if not gaps:
                break
        assert not gaps, "did not converge:\n" + "\n".join(gaps)
        # Commits catch up with what the owners processed.
        for member in self._members():
            member.process(2)
        for _ in range(round(2 * COMMIT_INTERVAL_S / SETTLE_TICK_S) + 1):
            for member in self._members():
                member.renew()
                member.step()
            self.clock.advance(SETTLE_TICK_S)
            self._check_ownership()
        for member in self._members():
            lanes = member.dispatcher.lanes if member.dispatcher is not None else {}
            for tp, (done, _) in lanes.items():
                stored = self._stored_offset(tp)
                assert stored == done, f"{member.name} processed {tp} to {done}, committed {stored}"

    def _report(self) -> None:
        """What the example went through, for ``--hypothesis-show-statistics``."""
        _note(f"converged with {len(self.running)} agents")
        counters: dict[str, float] = {}
        for member in [*self.running.values(), *self.gone]:
            for name, value in member.loop.metrics.snapshot().items():
                counters[name] = counters.get(name, 0.0) + value
        for name in (
            "commits",
            "stale_commits_refused",
            "commit_failures",
            "fence_events",
            "sessions_lost",
            "partitions_lost",
            "partitions_released",
        ):
            if counters.get(name):
                _note(f"had {name}")

    def _convergence_gaps(self) -> list[str]:
        """What still differs from the converged state; empty when converged."""
        directive = self._directive()
        live = directive.live_colour
        members = sorted(n for n, m in self.running.items() if m.colour is live)
        partitions = self._partitions()
        pins = {
            (ref.topic, ref.partition): instance
            for key, instance in directive.pins.items()
            for ref in [PartitionRef.parse(key)]
        }
        expected: Mapping[PartitionId, str | None]
        if directive.strategy is Strategy.STICKY:
            # History decides who; only that every partition has an owner is known.
            expected = dict.fromkeys(partitions if members else [], None)
        else:
            expected = compute_assignment(
                directive.strategy,
                members,
                partitions,
                pins=pins,
                absent_pin_policy=directive.absent_pin_policy,
            ).owners
        gaps: list[str] = []
        for tp in partitions:
            found = self._owner(tp)
            if tp not in expected:
                if found is not None:
                    gaps.append(f"{tp} should be unowned, {found[0].instance} owns it")
                continue
            if found is None:
                gaps.append(f"{tp} has no owner")
                continue
            ownership, session = found
            want = expected[tp]
            holder = self.running.get(ownership.instance)
            if want is not None and ownership.instance != want:
                gaps.append(f"{tp} is {ownership.instance}'s, the strategy says {want}'s")
            elif ownership.colour is not live or ownership.epoch != directive.epoch:
                gaps.append(f"{tp}'s owner node is {ownership.colour} at {ownership.epoch}")
            elif holder is None or holder.gateway is None or holder.gateway.session_id != session:
                gaps.append(f"{tp}'s owner node is of a dead session")
            elif tp not in holder.held() or holder.held_epoch(tp) != directive.epoch:
                gaps.append(f"{holder.name} does not hold {tp} at epoch {directive.epoch}")
            elif holder.may_start(tp) == directive.paused:
                gaps.append(f"{holder.name}'s gate of {tp} is wrong (paused: {directive.paused})")
            elif holder.fetching(tp) == directive.paused:
                gaps.append(f"{holder.name}'s fetch of {tp} is wrong (paused: {directive.paused})")
        for member in self._members():
            stray = member.held() - {
                tp for tp, o in self._owners_by_instance().items() if o == member.name
            }
            if stray:
                gaps.append(f"{member.name} holds {sorted(stray)} without owning them")
            if member.state not in (AgentState.RUNNING, AgentState.PAUSED):
                gaps.append(f"{member.name} is {member.state}")
            elif member.status().epoch != directive.epoch:
                gaps.append(f"{member.name} has applied {member.status().epoch}")
        sessions = {m.gateway.session_id for m in self._members() if m.gateway is not None}
        sessions.add(self.control.session_id)
        orphans = sorted(
            path
            for path, node in self.zookeeper.nodes.items()
            if node.ephemeral_owner and node.ephemeral_owner not in sessions
        )
        if orphans:
            gaps.append(f"ephemerals of dead sessions: {orphans}")
        return gaps

    def _owners_by_instance(self) -> dict[PartitionId, str]:
        owners: dict[PartitionId, str] = {}
        for tp in self._partitions():
            found = self._owner(tp)
            if found is not None:
                owners[tp] = found[0].instance
        return owners


class ZooKeeperOffsetsModel(AgentModel):
    """The same model with offsets in ZooKeeper (the commit is a transaction that checks
    the owner node, so a stale owner's commit fails in ZooKeeper too)."""

    offset_store: OffsetStoreName = "zookeeper"


def _settings() -> settings:
    return settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        derandomize=not RANDOMIZE,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


TestOwnershipStaysExclusiveAndCommitsSafeWithKafkaOffsets = AgentModel.TestCase
TestOwnershipStaysExclusiveAndCommitsSafeWithKafkaOffsets.settings = _settings()
TestOwnershipStaysExclusiveAndCommitsSafeWithZooKeeperOffsets = ZooKeeperOffsetsModel.TestCase
TestOwnershipStaysExclusiveAndCommitsSafeWithZooKeeperOffsets.settings = _settings()


def test_a_partition_dropped_for_a_refused_commit_is_claimed_again() -> None:
    """Regression (found by this model): a commit refused as stale drops the partition,
    but its owner node, held by the agent's own session, stayed; the claim that followed
    took the node for another's and waited for it to go, for good. A commit of a
    partition that is still ours is refused when a stale process stamps the offset node
    (its late claim), or when the offset store misjudges its own claim."""
    model = ZooKeeperOffsetsModel()
    model.start_cluster(blue=1, green=0)
    model.healthy_round()
    member = model.running["blue-1"]
    tp = ("alpha", 0)
    assert tp in member.held()
    offsets = PATHS.offset(GROUP, *tp)
    data, stat = model.control.get(offsets)
    model.control.set(offsets, data, version=stat.version)  # a stale process's stamp

    member.process(COMMIT_EVERY)
    member.step()
    assert tp not in member.held()
    assert member.counter("stale_commits_refused") == 1

    model._faults_stop_and_the_cluster_converges()
    assert tp in member.held()


def test_a_frozen_owner_woken_on_a_new_session_leaves_its_successors_node_alone() -> None:
    """Regression (found by this model): blue-1, releasing a partition to blue-2 who just
    joined, freezes in the middle of its step; its session expires meanwhile, and blue-2
    claims the partition, creating its owner node again at the same path and version.
    On waking, kazoo was on a new session and the step went on there: the release's
    version-checked delete took blue-2's node, and blue-1, back as a member, claimed the
    partition while blue-2 was still processing it (I2). Whichever request of the
    handover the freeze comes before, nothing the frozen step still sends lands."""
    sessions_lost = 0
    for request in range(1, 16):
        model = AgentModel()
        model.start_cluster(blue=1, green=0)
        for _ in range(3):
            model.healthy_round()
        model.agent_starts(name="blue-2")
        model.fault_inside_a_request(after=request, fault="freeze", freeze_s=5.0, who=0)
        for _ in range(6):
            model.healthy_round()
            model._check_ownership()
        model._faults_stop_and_the_cluster_converges()
        sessions_lost += int(model.running["blue-1"].counter("sessions_lost"))
    assert sessions_lost >= 10  # the freezes did outlast the session, and came back


def test_owner_nodes_left_by_an_interrupted_claim_are_swept_after_becoming_standby() -> None:
    """Regression (found by this model): green, live, creates its owner nodes, then the
    connection drops while it reads their offsets, so it cannot delete them either and
    asks for a sweep; a switch makes it standby before the sweep, and a standby swept
    nothing. Its live session kept the nodes, and blue never got those partitions."""
    leaked = 0
    for request in range(1, 16):
        model = ZooKeeperOffsetsModel()
        model.start_cluster(blue=1, green=1)
        for _ in range(3):
            model.healthy_round()
        model.directive_changes(change="switch colours")
        model.fault_inside_a_request(after=request, fault="connection drops", freeze_s=0, who=1)
        for _ in range(3):
            model.healthy_round()
        green = model.running["green-1"]
        leaked += any("reading offsets failed" in e for e in green.status().errors)
        model.directive_changes(change="switch colours")
        model._faults_stop_and_the_cluster_converges()
    assert leaked  # some drop did cut a claim off between its nodes and its offsets


def test_a_partition_whose_release_failed_is_processed_again_once_wanted_back() -> None:
    """Regression (found by this model): a switch makes blue standby; its release's final
    commit fails (the connection drops under it), so it keeps the partitions, closed to
    new records, to retry; the switch back makes them wanted again before the retry. Kept
    closed but no longer being released, they were never processed again."""
    interrupted = 0
    for request in range(1, 13):
        model = ZooKeeperOffsetsModel()
        model.start_cluster(blue=1, green=0)
        for _ in range(3):
            model.healthy_round()
        blue = model.running["blue-1"]
        blue.process(COMMIT_EVERY - 1)  # progress not committed yet: the release commits it
        model.directive_changes(change="switch colours")
        model.fault_inside_a_request(after=request, fault="connection drops", freeze_s=0, who=0)
        blue.deliver()  # the directive's watch: the release starts at this step
        blue.step()
        interrupted += blue.held_closed()
        model.connection_returns(who=0)
        model.directive_changes(change="switch colours")
        model._faults_stop_and_the_cluster_converges()
    assert interrupted  # some drop did leave a release half done


def _one_agent_running() -> tuple[AgentModel, Member]:
    model = AgentModel()
    model.start_cluster(blue=1, green=0)
    for _ in range(3):
        model.healthy_round()
    return model, model.running["blue-1"]


def _cut_off(member: Member, *, cluster_up: bool) -> FakeSource:
    source = member.sources[-1]
    source.metadata_error = KafkaException(KafkaError(KafkaError._TRANSPORT))
    source.cluster_up = cluster_up
    return source


def test_a_consumer_cut_off_from_a_cluster_that_answers_is_renewed_without_loss() -> None:
    """A consumer that fails every metadata read while a new client reaches the cluster
    (seen after a broker stall) is released, closed and replaced; the partitions are
    claimed again at their committed offsets (I4, checked at every claim), and the
    renewal is counted and shown."""
    model, blue = _one_agent_running()
    held = blue.held()
    assert held
    blue.process(COMMIT_EVERY - 1)  # progress not committed yet: the release commits it
    wedged = _cut_off(blue, cluster_up=True)
    for _ in range(300):  # 30 s of the model's time
        model.healthy_round()
        model._check_ownership()
        if len(blue.sources) > 1 and blue.held() == held:
            break
    assert wedged.closed
    assert len(blue.sources) == 2
    assert blue.held() == held
    assert blue.counter("consumer_renewals") == 1
    assert any("renewing it" in error for error in blue.status().errors)
    assert not model.violations
    model._faults_stop_and_the_cluster_converges()


def test_a_consumer_of_a_cluster_that_is_down_is_kept_and_the_outage_shown() -> None:
    """When a new client cannot reach the cluster either, a new consumer would not help:
    the agent keeps its partitions and its consumer, and says the cluster is down."""
    model, blue = _one_agent_running()
    held = blue.held()
    source = _cut_off(blue, cluster_up=False)
    for _ in range(300):
        model.healthy_round()
    assert source.metadata_reads >= 4  # read again and again, a poll interval apart
    assert len(blue.sources) == 1
    assert not source.closed
    assert blue.held() == held
    assert blue.counter("consumer_renewals") == 0
    assert any("unreachable" in error for error in blue.status().errors)
    model._faults_stop_and_the_cluster_converges()
