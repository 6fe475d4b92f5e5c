"""The status znode keeps up with a switch, and ready means warm, on the real services.

Status: right after a switch every new owner's status shows what the owner nodes show
(its partitions, RUNNING, the new epoch) within a second of the owner nodes showing it,
and the old colour's processing rate reads 0 once its window has passed.

Readiness: an agent reports ready neither before it has read a directive nor while it
cannot warm up (Kafka unreachable); a standby started under load reports ready once its
warm-up is done, and a switch made the moment it does has every claimed partition's
first record within ``FIRST_RECORD_BOUND_S`` of its claim.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.support.agent_kit import World
from tests.support.waiting import wait_until
from turnout.agent.coordination.status_publisher import STATUS_REFRESH_S
from turnout.agent.metrics import RATE_WINDOW_S
from turnout.devstack.process import free_port
from turnout.protocol import Colour, InstanceStatus, Role
from turnout.verify import Claimed, Processed, read_events
from turnout.zk import ZkNoNodeError

SETTLE_S = 30.0
#: How soon after the owner nodes show a switch done every new owner's status must too.
STATUS_LAG_BOUND_S = 1.0
#: A polling reader's own resolution, added to the bound it checks.
POLL_S = 0.02
#: Claim to first record of a warm standby: one fetch round trip (milliseconds on
#: loopback) plus the hand-over to the handler, with room for a machine shared by other
#: test runs. A cold consumer's first Kafka round trips (metadata, the group coordinator,
#: a leader's broker thread that sleeps up to 1 s while it has nothing to fetch) would
#: not fit.
FIRST_RECORD_BOUND_S = 0.5
#: Records per second over the test's few partitions: each partition has a record
#: waiting at any claim (10 ms apart), so a claim's first record never waits for one.
DENSE_RATE_PER_S = 400


def _status(world: World, instance: str) -> InstanceStatus | None:
    try:
        data, _ = world.admin().get(world.paths.status(instance))
    except ZkNoNodeError:
        return None
    return InstanceStatus.from_bytes(data)


def _rate(world: World, instance: str) -> float:
    status = _status(world, instance)
    return 0.0 if status is None else status.counters.get("rate_per_s", 0.0)


def _owned(world: World, instance: str) -> int:
    status = _status(world, instance)
    return 0 if status is None else len(status.owned)


def _ready(world: World, instance: str) -> bool:
    status = _status(world, instance)
    return status is not None and status.ready


def _switch_to(world: World, colour: Colour) -> int:
    other = Colour.BLUE if colour is Colour.GREEN else Colour.GREEN
    switched = world.update_directive(roles={colour: Role.LIVE, other: Role.STANDBY})
    return switched.directive.epoch


def test_new_owners_status_matches_the_owner_nodes_within_a_second_and_the_old_rate_falls_to_zero(
    make_world: Callable[..., World],
) -> None:
    world = make_world(partitions=6)
    world.create_directive(live=Colour.BLUE)
    blue, green = {"blue-1", "blue-2"}, {"green-1", "green-2"}
    for name in sorted(blue):
        world.start_agent(name, Colour.BLUE)
    for name in sorted(green):
        world.start_agent(name, Colour.GREEN)
    wait_until(lambda: world.all_owned(blue, epoch=1), SETTLE_S, "blue owns everything")
    load = world.producer()
    wait_until(
        lambda: all(_rate(world, b) > 0 for b in blue),
        SETTLE_S,
        "blue's status to show a processing rate",
    )
    switched_at = time.monotonic()
    epoch = _switch_to(world, Colour.GREEN)
    owned_at: float | None = None
    status_at: float | None = None
    deadline = switched_at + SETTLE_S
    while status_at is None and time.monotonic() < deadline:
        owners = world.owners()
        now = time.monotonic()
        done = len(owners) == world.partitions and all(
            o.colour == Colour.GREEN and o.epoch >= epoch for o in owners.values()
        )
        if done and owned_at is None:
            owned_at = now
        if owned_at is not None:
            statuses = {g: _status(world, g) for g in green}
            shown = {
                (p.topic, p.partition): g
                for g, s in statuses.items()
                if s is not None
                for p in s.owned
            }
            settled = all(
                s is not None and s.state == "RUNNING" and s.epoch == epoch
                for s in statuses.values()
            )
            if settled and shown == {tp: o.instance for tp, o in owners.items()}:
                status_at = time.monotonic()
        time.sleep(POLL_S)
    assert owned_at is not None and status_at is not None, "green never owned everything"
    assert status_at - owned_at <= STATUS_LAG_BOUND_S + POLL_S
    rate_bound_s = RATE_WINDOW_S + STATUS_REFRESH_S + 2.0
    wait_until(
        lambda: all(_rate(world, b) == 0.0 and not _owned(world, b) for b in blue),
        rate_bound_s,
        "the standby colour's rate to read 0",
    )
    assert time.monotonic() - switched_at <= rate_bound_s
    load.stop()


def test_an_agent_reports_ready_neither_before_a_directive_nor_while_it_cannot_warm_up(
    make_world: Callable[..., World],
) -> None:
    world = make_world(partitions=2)
    warm = world.start_agent("green-1", Colour.GREEN)
    unreachable = f"127.0.0.1:{free_port()}"
    cold = world.start_agent(
        "green-2",
        Colour.GREEN,
        kafka=unreachable,
        kafka_properties={"socket.connection.setup.timeout.ms": "1000"},
    )
    wait_until(lambda: _status(world, "green-1") is not None, SETTLE_S, "green-1's status")
    time.sleep(2 * STATUS_REFRESH_S)
    assert not warm.status().ready  # no directive read: nothing to be warm for
    assert not _ready(world, "green-1")
    world.create_directive(live=Colour.BLUE)
    assert warm.wait_for(lambda a: a.status().ready, SETTLE_S)
    assert cold.wait_for(lambda a: any("Kafka" in e for e in a.status().errors), SETTLE_S)
    time.sleep(2 * STATUS_REFRESH_S)
    status = _status(world, "green-2")
    assert status is not None and status.state == "RUNNING" and status.epoch == 1
    assert not status.ready and not cold.status().ready


def test_a_standby_reports_ready_once_warm_and_a_switch_then_starts_every_partition_at_once(
    make_world: Callable[..., World],
) -> None:
    # Agents in processes of their own, as deployed: in one process with the producer and
    # the test, the interpreter's lock would be measured along with the agent. The standby
    # starts once records flow, and the switch comes the moment it reports ready.
    world = make_world(partitions=4)
    world.spawn_agent("blue-1", Colour.BLUE)
    world.create_directive(live=Colour.BLUE)
    wait_until(lambda: world.all_owned({"blue-1"}, epoch=1), SETTLE_S, "blue owns everything")
    load = world.producer(DENSE_RATE_PER_S)
    wait_until(lambda: world.processed_count() > DENSE_RATE_PER_S, SETTLE_S, "blue processes")
    world.spawn_agent("green-1", Colour.GREEN)
    wait_until(lambda: _ready(world, "green-1"), SETTLE_S, "green to report ready", poll_s=POLL_S)
    epoch = _switch_to(world, Colour.GREEN)
    wait_until(lambda: world.all_owned({"green-1"}, epoch=epoch), SETTLE_S, "green owns all")
    wait_until(lambda: _first_records(world, epoch) is not None, SETTLE_S, "green's records")
    load.stop()
    waits = _first_records(world, epoch)
    assert waits is not None
    assert max(waits.values()) <= FIRST_RECORD_BOUND_S, waits


def _first_records(world: World, epoch: int) -> dict[int, float] | None:
    """Per partition green claimed at ``epoch``: seconds from the claim to its first
    record; None until every claimed partition has had one."""
    events = read_events(world.log_dir)
    claims = {
        e.partition: e.mono_ns
        for e in events
        if isinstance(e, Claimed) and e.instance == "green-1" and e.epoch == epoch
    }
    firsts: dict[int, int] = {}
    for e in events:
        if isinstance(e, Processed) and e.instance == "green-1" and e.partition in claims:
            firsts.setdefault(e.partition, e.start_ns)
    if not claims or firsts.keys() != claims.keys():
        return None
    return {p: (firsts[p] - claims[p]) / 1e9 for p in claims}
