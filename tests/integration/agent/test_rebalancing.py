"""Planned ownership changes under load: joins, clean leaves, colour switches, pins.

Every test runs real agents against the real ZooKeeper and Kafka, logs every claim,
release, commit and processed record, and judges the whole history with the verify
toolkit's checker: nothing lost, no overlap, and (planned operations only) no duplicate.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.support.agent_kit import World
from tests.support.waiting import wait_until
from turnout.agent import AgentState
from turnout.protocol import Colour, InstanceStatus, Role, Strategy
from turnout.protocol.assignment import compute_assignment

SETTLE_S = 20.0


def _assert_clean(world: World, acked: int) -> None:
    world.wait_drained(acked)
    world.stop_all()
    report = world.check(planned_only=True)
    assert report.ok, report.to_dict()
    assert report.acked == acked
    assert report.duplicates.extra_copies == 0


def test_members_joining_and_leaving_under_load_lose_overlap_and_duplicate_nothing(
    make_world: Callable[..., World], offset_store: str
) -> None:
    world = make_world(partitions=6, offset_store=offset_store)
    world.create_directive(strategy=Strategy.STICKY)
    world.start_agent("a")
    wait_until(lambda: world.all_owned({"a"}), SETTLE_S, "a owns everything")
    load = world.producer()
    world.start_agent("b")
    wait_until(lambda: world.balanced({"a", "b"}), SETTLE_S, "a and b share")
    world.start_agent("c")
    wait_until(lambda: world.balanced({"a", "b", "c"}), SETTLE_S, "a, b and c share")
    before = world.owner_map()
    world.agents["b"].stop(10)
    wait_until(lambda: world.balanced({"a", "c"}), SETTLE_S, "b's partitions move to a, c")
    after = world.owner_map()
    # Sticky: only b's partitions moved.
    assert {tp for tp in before if before[tp] != after[tp]} == {
        tp for tp, owner in before.items() if owner == "b"
    }
    world.start_agent("d")
    wait_until(lambda: world.balanced({"a", "c", "d"}), SETTLE_S, "d joins")
    acked = load.stop()
    _assert_clean(world, acked)


def test_standby_colour_owns_nothing_until_a_switch_hands_everything_over(
    make_world: Callable[..., World],
) -> None:
    world = make_world(partitions=4)
    world.create_directive(live=Colour.BLUE)
    world.start_agent("blue-1", Colour.BLUE)
    green = world.start_agent("green-1", Colour.GREEN)
    wait_until(lambda: world.all_owned({"blue-1"}, epoch=1), SETTLE_S, "blue owns everything")
    assert green.wait_for(lambda a: a.status().epoch == 1, 10)
    assert green.owned() == frozenset() and green.state is AgentState.RUNNING
    load = world.producer()
    wait_until(lambda: world.processed_count() > 50, SETTLE_S, "blue processes")
    switched = world.update_directive(roles={Colour.BLUE: Role.STANDBY, Colour.GREEN: Role.LIVE})
    epoch = switched.directive.epoch
    wait_until(
        lambda: world.all_owned({"green-1"}, epoch=epoch), SETTLE_S, "green owns all at epoch 2"
    )
    blue = world.agents["blue-1"]
    assert blue.wait_for(lambda a: a.status().epoch == epoch and not a.owned(), 10)
    acked = load.stop()
    _assert_clean(world, acked)


def test_a_manual_pin_is_honoured_and_moving_it_moves_exactly_that_partition(
    make_world: Callable[..., World], offset_store: str
) -> None:
    world = make_world(partitions=4, offset_store=offset_store)
    world.create_directive(strategy=Strategy.MANUAL, pins={f"{world.topic}/3": "a"})
    world.start_agent("a")
    world.start_agent("b")
    expected = compute_assignment(
        Strategy.MANUAL,
        ["a", "b"],
        [world.tp(p) for p in range(4)],
        pins={world.tp(3): "a"},
    ).owners
    wait_until(lambda: world.owner_map() == expected, SETTLE_S, f"owners {expected}")
    load = world.producer()
    wait_until(lambda: world.processed_count() > 50, SETTLE_S, "processing")
    before = world.owner_map()

    def claims() -> dict[str, float]:
        return {n: a.metrics.snapshot()["partitions_claimed"] for n, a in world.agents.items()}

    claims_before = claims()
    world.update_directive(pins={f"{world.topic}/3": "b"})
    after = {**before, world.tp(3): "b"}
    wait_until(lambda: world.owner_map() == after, SETTLE_S, "pin moved to b")
    # Exactly one partition changed hands: b claimed it, a claimed nothing. (The owner
    # node exists slightly before the claim is counted: wait for the count.)
    wait_until(lambda: claims()["b"] > claims_before["b"], 5, "b counted its claim")
    assert {n: c - claims_before[n] for n, c in claims().items()} == {"a": 0.0, "b": 1.0}
    assert world.owner_map() == after
    acked = load.stop()
    _assert_clean(world, acked)


def test_paused_directive_stops_processing_and_keeps_ownership(
    make_world: Callable[..., World],
) -> None:
    world = make_world(partitions=2)
    world.create_directive()
    agent = world.start_agent("a")
    wait_until(lambda: world.all_owned({"a"}), SETTLE_S, "a owns everything")
    paused = world.update_directive(paused=True)
    assert agent.wait_for(lambda a: a.state is AgentState.PAUSED, 10)
    load = world.producer()
    wait_until(lambda: load.sent > 100, 10, "records produced while paused")
    done = world.processed_count()
    owners = world.owners()
    assert world.processed_count() == done and len(owners) == 2
    assert all(o.epoch == paused.directive.epoch for o in owners.values())
    world.update_directive(paused=False)
    acked = load.stop()
    _assert_clean(world, acked)


def test_status_znode_reports_epoch_owned_partitions_offsets_and_counters(
    make_world: Callable[..., World],
) -> None:
    world = make_world(partitions=2)
    world.create_directive()
    agent = world.start_agent("a")
    wait_until(lambda: world.all_owned({"a"}), SETTLE_S, "a owns everything")
    load = world.producer()
    wait_until(lambda: world.processed_count() > 100, SETTLE_S, "processing")
    load.stop()

    def committed() -> bool:
        data, _ = world.admin().get(world.paths.status("a"))
        status = InstanceStatus.from_bytes(data)
        return all(p.committed_offset for p in status.owned) and len(status.owned) == 2

    wait_until(committed, 15, "status znode shows committed offsets")
    data, _ = world.admin().get(world.paths.status("a"))
    status = InstanceStatus.from_bytes(data)
    assert status.epoch == 1 and status.state == "RUNNING" and not status.fenced
    assert status.counters["records_processed"] > 100
    assert {(p.group, p.topic) for p in status.owned} == {(world.group, world.topic)}
    assert agent.status().instance == "a"
    agent.stop(10)
    assert world.admin().exists(world.paths.status("a")) is None
    assert world.admin().exists(world.paths.instance("a")) is None
    assert world.owners() == {}


def test_added_partitions_are_picked_up_from_kafka_metadata(
    make_world: Callable[..., World],
) -> None:
    from confluent_kafka.admin import AdminClient, NewPartitions

    world = make_world(partitions=2)
    world.create_directive()
    world.start_agent("a")
    world.start_agent("b")
    wait_until(lambda: world.balanced({"a", "b"}), SETTLE_S, "a and b share")
    admin = AdminClient({"bootstrap.servers": world.kafka})
    admin.create_partitions([NewPartitions(world.topic, 4)])[world.topic].result(30)
    world.partitions = 4
    wait_until(lambda: world.balanced({"a", "b"}), SETTLE_S, "4 partitions owned")


def test_partitions_without_a_commit_follow_the_reset_policy(
    make_world: Callable[..., World],
) -> None:
    world = make_world(partitions=1)
    world.create_directive()
    early = world.producer()
    wait_until(lambda: early.sent >= 20, 10, "records before any agent")
    early.stop()
    latest = world.start_agent("a", auto_offset_reset="latest")
    wait_until(lambda: world.all_owned({"a"}), SETTLE_S, "a owns the partition")
    late = world.producer()
    wait_until(lambda: world.processed_count() >= 10, SETTLE_S, "new records processed")
    late.stop()
    latest.stop(10)
    first = min(
        int(line.split('"offset":', 1)[1].split(",", 1)[0])
        for path in world.log_dir.glob("events-*.jsonl")
        for line in path.read_text().splitlines()
        if '"event":"processed"' in line
    )
    assert first >= 20  # nothing produced before the claim was processed


def test_reset_policy_error_holds_the_partition_unprocessed_and_says_why(
    make_world: Callable[..., World],
) -> None:
    world = make_world(partitions=1)
    world.create_directive()
    agent = world.start_agent("a", auto_offset_reset="error")
    wait_until(lambda: world.all_owned({"a"}), SETTLE_S, "a owns the partition")
    load = world.producer()
    wait_until(lambda: load.sent > 30, 10, "records produced")
    load.stop()
    assert agent.wait_for(lambda a: any("no committed offset" in e for e in a.status().errors), 10)
    assert world.processed_count() == 0
