"""A colour's side of a mirror: the directive's (``Directive.crossings``) against the one
the agent was started on (``AgentEnvironment.crossing``), on one agent over the in-memory
ZooKeeper and Kafka: agreeing, it owns as usual; disagreeing, it owns nothing, says why
once, and is not ready (so a switch to its colour is refused)."""

from __future__ import annotations

from tests.unit.agent.kit import GROUP, TOPIC, Rig, running_agent
from turnout.agent import AgentState, CommitPoint
from turnout.protocol import Colour, Directive
from turnout.protocol.crossing import Crossing, MirrorSide

TP0 = (TOPIC, 0)
MIRROR = "orders-mirror"
SOURCE = Crossing(mirror=MIRROR, side=MirrorSide.SOURCE, cluster="a")
COPIES = Crossing(mirror=MIRROR, side=MirrorSide.COPIES, cluster="b")


def _give_sides(rig: Rig, blue: Crossing, green: Crossing) -> None:
    def with_sides(directive: Directive) -> Directive:
        crossings = {Colour.BLUE: blue, Colour.GREEN: green}
        return directive.model_copy(update={"crossings": crossings})

    rig.directives.update(with_sides)


def _refusals(rig: Rig) -> list[str]:
    return [e for e in rig.loop.board.shown().errors if "owns nothing until" in e]


def test_an_agent_on_the_side_the_directive_gives_its_colour_owns_as_usual() -> None:
    rig = running_agent(crossing=Crossing(mirror=MIRROR, side=MirrorSide.SOURCE))
    _give_sides(rig, blue=SOURCE, green=COPIES)
    for _ in range(5):
        rig.step()
    assert rig.held() == {TP0}
    assert rig.loop.board.state is AgentState.RUNNING
    assert rig.loop.board.shown().ready
    assert _refusals(rig) == []


def test_an_agent_on_another_side_releases_everything_and_says_why_once() -> None:
    rig = running_agent()  # started without a mirror: it reads the topics as named
    assert rig.loop.board.shown().ready
    rig.dispatcher.points[TP0] = CommitPoint(5)  # progress, not committed yet
    _give_sides(rig, blue=COPIES, green=SOURCE)
    rig.settle(lambda: rig.held() == frozenset())
    for _ in range(5):
        rig.step()
    status = rig.loop.board.shown()
    assert status.owned == ()
    assert not status.ready
    assert _refusals(rig) == [
        _refusals(rig)[0]  # reported once, however many reconciles follow
    ]
    assert "blue consume its copies on b (mirror 'orders-mirror')" in _refusals(rig)[0]
    assert "started without a mirror" in _refusals(rig)[0]
    (closed, drain_timeout_s, _), *_ = rig.dispatcher.closed
    assert closed == TP0 and drain_timeout_s > 0  # released: drained and committed, not dropped
    assert rig.kafka.committed[(GROUP, TP0)][0] == 5

    # The directive stops giving sides: the agent owns again, as started.
    rig.directives.update(lambda d: d.model_copy(update={"crossings": {}}))
    rig.settle(lambda: rig.held() == {TP0} and rig.loop.board.state is AgentState.RUNNING)
    assert rig.loop.board.shown().ready
