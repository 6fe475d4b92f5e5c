"""The status znode's cadence and readiness, on one agent over the in-memory ZooKeeper and
Kafka with a clock the test moves (``coordination/status_publisher.py``, ``readiness.py``)."""

from __future__ import annotations

from confluent_kafka import KafkaException

from tests.unit.agent.kit import INSTANCE, PATHS, Rig, running_agent
from turnout.agent.coordination.readiness import is_ready
from turnout.agent.coordination.reconciler import METADATA_POLL_INTERVAL_S, RESYNC_INTERVAL_S
from turnout.agent.coordination.states import AgentState
from turnout.agent.coordination.status_publisher import (
    STATUS_MAX_INTERVAL_S,
    STATUS_MIN_INTERVAL_S,
    STATUS_REFRESH_S,
)
from turnout.protocol import InstanceStatus
from turnout.zk import NodeStat

STATUS_PATH = PATHS.status(INSTANCE)


def _written(rig: Rig) -> tuple[InstanceStatus, NodeStat]:
    reader = rig.zookeeper.client()
    reader.start()
    data, stat = reader.get(STATUS_PATH)
    reader.stop()
    return InstanceStatus.from_bytes(data), stat


def _settle_standby(rig: Rig) -> None:
    """Switch the rig's agent to standby; its warm-up comes with the reconcile after its
    releases (the resync's, at the latest)."""
    rig.switch_colours()
    rig.clock.advance(STATUS_MIN_INTERVAL_S)
    rig.settle(lambda: not rig.held() and _written(rig)[0].epoch == 2)
    rig.clock.advance(RESYNC_INTERVAL_S)
    rig.step()
    rig.clock.advance(STATUS_MIN_INTERVAL_S)
    rig.step()


def test_an_ownership_change_is_written_in_the_step_that_makes_it() -> None:
    rig = running_agent(partitions=2)
    rig.clock.advance(STATUS_MIN_INTERVAL_S)
    rig.switch_colours()
    rig.step()  # the debounce is over at once: no clock movement needed
    rig.clock.advance(0.05)
    rig.step()
    status, _ = _written(rig)
    assert rig.held() == frozenset()
    assert status.owned == () and status.epoch == 2 and status.state == "RUNNING"


def test_a_burst_of_changes_costs_one_write_per_interval_and_the_last_one_is_written() -> None:
    rig = running_agent()
    rig.clock.advance(STATUS_MIN_INTERVAL_S)
    rig.step()
    _, before = _written(rig)
    rig.loop.board.report_error("first")
    rig.step()
    rig.loop.board.report_error("second")
    rig.step()  # within the interval: shown, not written
    status, stat = _written(rig)
    assert stat.version == before.version + 1 and status.errors[-1].endswith("first")
    assert rig.loop.board.shown().errors[-1].endswith("second")
    rig.clock.advance(STATUS_MIN_INTERVAL_S)
    rig.step()
    status, stat = _written(rig)
    assert stat.version == before.version + 2 and status.errors[-1].endswith("second")


def test_an_unchanged_status_is_rewritten_only_at_the_max_and_moving_counters_every_refresh() -> (
    None
):
    rig = running_agent()
    _, first = _written(rig)
    rig.clock.advance(STATUS_REFRESH_S)
    rig.step()
    assert _written(rig)[1].version == first.version  # nothing changed: not rewritten
    rig.clock.advance(STATUS_MAX_INTERVAL_S - STATUS_REFRESH_S)
    rig.step()
    _, beat = _written(rig)
    assert beat.version == first.version + 1  # the heartbeat write
    rig.loop.metrics.inc("records_processed", 7)
    rig.clock.advance(STATUS_REFRESH_S / 2)
    rig.step()
    assert _written(rig)[1].version == beat.version  # not due yet
    rig.clock.advance(STATUS_REFRESH_S / 2)
    rig.step()
    status, moved = _written(rig)
    assert moved.version == beat.version + 1 and status.counters["records_processed"] == 7


def test_a_status_node_deleted_by_hand_is_created_again_by_the_next_write() -> None:
    rig = running_agent()
    admin = rig.zookeeper.client()
    admin.start()
    admin.delete(STATUS_PATH)
    rig.loop.board.report_error("something to say")
    rig.clock.advance(STATUS_MIN_INTERVAL_S)
    rig.step()  # the write finds no node ...
    rig.clock.advance(STATUS_MIN_INTERVAL_S)
    rig.step()  # ... and the next one creates it
    assert _written(rig)[0].errors[-1].endswith("something to say")


def test_a_live_instance_holding_its_share_is_ready() -> None:
    rig = running_agent()
    rig.clock.advance(STATUS_MIN_INTERVAL_S)
    rig.step()
    assert rig.loop.board.shown().ready and _written(rig)[0].ready


def test_a_standby_is_ready_once_warmed_up_for_the_live_binding() -> None:
    rig = running_agent()
    _settle_standby(rig)
    assert rig.source.warm_ups == 1
    assert rig.loop.board.shown().ready and _written(rig)[0].ready


def test_a_standby_whose_warm_up_fails_is_not_ready_until_a_metadata_poll_retries_it() -> None:
    rig = running_agent()
    rig.source.warm_up_error = KafkaException("broker down")
    _settle_standby(rig)
    status = rig.loop.board.shown()
    assert not status.ready and any("Kafka warm-up" in e for e in status.errors)
    rig.source.warm_up_error = None
    rig.clock.advance(METADATA_POLL_INTERVAL_S + 0.01)
    rig.step()
    rig.clock.advance(STATUS_MIN_INTERVAL_S)
    rig.step()
    assert rig.loop.board.shown().ready and _written(rig)[0].ready


def test_only_a_registered_settled_instance_is_ready_and_a_standby_only_once_warm() -> None:
    for state in AgentState:
        settled = state in (AgentState.RUNNING, AgentState.PAUSED)
        assert is_ready(state, registered=True, standby=False, warm=False) is settled
        assert is_ready(state, registered=True, standby=True, warm=True) is settled
        assert not is_ready(state, registered=True, standby=True, warm=False)
        assert not is_ready(state, registered=False, standby=False, warm=True)
