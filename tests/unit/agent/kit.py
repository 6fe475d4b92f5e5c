"""One real agent (``AgentLoop``) over the in-memory ZooKeeper and Kafka, stepped by the
test: for unit tests of the coordination and the data path through their public seams.

``running_agent`` builds the deployment (a directive with blue live on topic ``t``),
steps the agent until it holds every partition, and hands back the rig; the test then
moves the clock, the connection and the directive, and steps the agent again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from confluent_kafka import Message

from tests.support.fake_kafka import FakeKafka, FakeSource
from tests.support.fake_zookeeper import FakeGateway, FakeZooKeeper
from turnout.agent import AgentConfig, AgentState, CommitPoint, DispatchContext, Record
from turnout.agent.config import DEFAULT_COMMIT_EVERY
from turnout.agent.coordination import AgentLoop
from turnout.agent.environment import AgentEnvironment
from turnout.protocol import Binding, Colour, DeploymentPaths, Directive, Role
from turnout.protocol.crossing import Crossing
from turnout.protocol.directives import DirectiveStore
from turnout.protocol.partitions import PartitionId
from turnout.protocol.paths import DEFAULT_ROOT

DEPLOYMENT = "d"
GROUP = "g"
TOPIC = "t"
INSTANCE = "a"
SESSION_TIMEOUT_S = 4.0
FENCE_MARGIN_S = 1.0
#: The lease's window: session timeout less the margin.
FENCE_AFTER_S = SESSION_TIMEOUT_S - FENCE_MARGIN_S
PATHS = DeploymentPaths(DEFAULT_ROOT, DEPLOYMENT)
#: Steps the agent may take to settle before a rig gives up.
MAX_STEPS = 50
#: Time between two settling steps: past the watch debounce, within the heartbeat.
STEP_S = 0.1


class Clock:
    """Monotonic seconds that move only when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingDispatcher:
    """A dispatcher that runs nothing: a partition's commit point is what the test puts
    in ``points``; it records each close, and whether the gate and the fetch were shut
    at that moment."""

    def __init__(self, context: DispatchContext) -> None:
        self.context = context
        self.points: dict[PartitionId, CommitPoint] = {}
        #: (partition, drain timeout, gate open at the close)
        self.closed: list[tuple[PartitionId, float, bool]] = []
        self.room = True
        self.opened: list[PartitionId] = []
        #: ``CommitsOwnOffsets``: True makes it a dispatcher whose work commits offsets.
        self.commits_own_offsets = False

    def commits_offsets(self) -> bool:
        return self.commits_own_offsets

    def open_partition(self, tp: PartitionId, next_offset: int, skip: frozenset[int]) -> None:
        self.opened.append(tp)

    def submit(self, record: Record) -> None:
        raise AssertionError("the fake Kafka fetches no records")

    def submit_run(self, tp: PartitionId, records: Sequence[Record]) -> None:
        raise AssertionError("the fake Kafka fetches no records")

    def set_high_watermark(self, tp: PartitionId, high_watermark: int) -> None:
        return None

    def wants_more(self, tp: PartitionId) -> bool:
        return True

    def has_room(self) -> bool:
        return self.room

    def wait_for_room(self, timeout_s: float) -> None:
        return None

    def commit_point(self, tp: PartitionId) -> CommitPoint | None:
        return self.points.get(tp)

    def close_partition(self, tp: PartitionId, timeout_s: float) -> CommitPoint | None:
        self.closed.append((tp, timeout_s, self.context.may_start(tp)))
        return self.points.get(tp)

    def stop_reason(self) -> str | None:
        return None

    def close(self, timeout_s: float) -> None:
        return None


class CountingSource(FakeSource):
    """The fake consumer, counting polls and recording every pause set."""

    def __init__(self, kafka: FakeKafka, instance: str, group: str) -> None:
        super().__init__(kafka, instance, group)
        self.polls = 0
        #: What the next poll returns (then nothing again).
        self.fetched: list[Message] = []
        self.pauses: list[set[PartitionId]] = []
        #: The partitions of each ``pause`` call (a turn on the consumer of its own).
        self.pause_calls: list[frozenset[PartitionId]] = []

    def poll(self, timeout_s: float, max_records: int = 2000) -> list[object]:  # type: ignore[override]
        self.polls += 1
        fetched, self.fetched = self.fetched, []
        return fetched  # type: ignore[return-value]

    def set_paused(self, wanted: set[PartitionId], seek: Mapping[PartitionId, int]) -> None:
        self.pauses.append(set(wanted))
        super().set_paused(wanted, seek)

    def pause(self, tps: Sequence[PartitionId]) -> None:  # type: ignore[override]
        super().pause(tps)
        self.pause_calls.append(frozenset(tps))


class Observer:
    def __init__(self) -> None:
        self.fences: list[str] = []
        self.commits: list[tuple[PartitionId, int]] = []

    def claimed(self, *args: object) -> None: ...

    def released(self, *args: object) -> None: ...

    def committed(self, group: str, topic: str, partition: int, offset: int, epoch: int) -> None:
        self.commits.append(((topic, partition), offset))

    def fenced(self, reason: str) -> None:
        self.fences.append(reason)


@dataclass
class Rig:
    clock: Clock
    zookeeper: FakeZooKeeper
    kafka: FakeKafka
    directives: DirectiveStore
    loop: AgentLoop
    observer: Observer
    gateways: list[FakeGateway] = field(default_factory=list)
    sources: list[CountingSource] = field(default_factory=list)
    dispatchers: list[RecordingDispatcher] = field(default_factory=list)

    @property
    def gateway(self) -> FakeGateway:
        return self.gateways[-1]

    @property
    def source(self) -> CountingSource:
        return self.sources[-1]

    @property
    def dispatcher(self) -> RecordingDispatcher:
        return self.dispatchers[-1]

    def held(self) -> frozenset[PartitionId]:
        return frozenset(self.loop.data.feed.held)

    def counter(self, name: str) -> float:
        return self.loop.metrics.snapshot()[name]

    def step(self) -> None:
        """One healthy turn: notifications delivered, the lease renewed, one step."""
        if self.gateways:
            self.gateway.deliver()
        self.loop.session.renew_lease()
        self.loop.step()

    def settle(self, until: Callable[[], bool]) -> None:
        for _ in range(MAX_STEPS):
            self.step()
            if until():
                return
            self.clock.advance(STEP_S)
        raise AssertionError(f"did not settle: {self.loop.board.state}, holds {self.held()}")

    def switch_colours(self) -> None:
        def switched(directive: Directive) -> Directive:
            roles = {
                c: Role.STANDBY if r is Role.LIVE else Role.LIVE for c, r in directive.roles.items()
            }
            return directive.model_copy(update={"roles": roles})

        self.directives.update(switched)


def running_agent(
    partitions: int = 1, commit_every: int = DEFAULT_COMMIT_EVERY, crossing: Crossing | None = None
) -> Rig:
    """A blue agent, live, holding every partition of ``t`` and RUNNING (started on
    ``crossing``'s side of a mirror, if given)."""
    clock = Clock()
    zookeeper = FakeZooKeeper(clock, SESSION_TIMEOUT_S)
    kafka = FakeKafka({TOPIC: partitions})
    control = zookeeper.client()
    control.start()
    directives = DirectiveStore(control, PATHS)
    directives.create(
        Directive(
            epoch=1,
            deployment=DEPLOYMENT,
            live=Binding(group=GROUP, topics=(TOPIC,)),
            roles={Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY},
        )
    )
    gateways: list[FakeGateway] = []
    sources: list[CountingSource] = []
    dispatchers: list[RecordingDispatcher] = []

    def new_gateway(config: AgentConfig) -> FakeGateway:
        gateways.append(zookeeper.client())
        return gateways[-1]

    def new_source(config: AgentConfig, group: str) -> CountingSource:
        sources.append(CountingSource(kafka, config.instance, group))
        return sources[-1]

    def new_dispatcher(context: DispatchContext) -> RecordingDispatcher:
        dispatchers.append(RecordingDispatcher(context))
        return dispatchers[-1]

    config = AgentConfig(
        deployment=DEPLOYMENT,
        colour=Colour.BLUE,
        instance=INSTANCE,
        session_timeout_s=SESSION_TIMEOUT_S,
        fence_margin_s=FENCE_MARGIN_S,
        commit_every=commit_every,
    )
    observer = Observer()
    loop = AgentLoop(
        config,
        lambda record: None,
        dispatcher_factory=new_dispatcher,
        observer=observer,
        environment=AgentEnvironment(
            clock=clock,
            sleep=clock.advance,
            new_gateway=new_gateway,
            new_source=new_source,
            heartbeat_thread=False,
            crossing=crossing,
        ),
    )
    rig = Rig(clock, zookeeper, kafka, directives, loop, observer, gateways, sources, dispatchers)
    everything = frozenset((TOPIC, p) for p in range(partitions))
    rig.settle(lambda: loop.board.state is AgentState.RUNNING and rig.held() == everything)
    return rig
