"""The delivery state machine with a stand-in producer (pure logic: queue bound, spool,
replay order, shutdown). The real producer and broker are in tests/integration/syslog."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from confluent_kafka import KafkaError, Message

from turnout.syslog.delivery import Delivery, State
from turnout.syslog.spool import Spool


class FakeMessage:
    def __init__(self, topic: str, value: bytes, key: bytes | None) -> None:
        self._topic, self._value, self._key = topic, value, key

    def topic(self) -> str:
        return self._topic

    def value(self) -> bytes:
        return self._value

    def key(self) -> bytes | None:
        return self._key


class StandInProducer:
    """A bounded queue that the test ``deliver``s from, as a broker would acknowledge."""

    def __init__(self, bound: int, on_failure: Callable[[KafkaError | None, Message], None]):
        self.bound = bound
        self.queue: list[tuple[str, bytes, bytes | None]] = []
        self.delivered: list[bytes] = []
        self.broker_up = True
        self._on_failure = on_failure

    def produce(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        if len(self.queue) >= self.bound:
            raise BufferError("queue full")
        self.queue.append((topic, value, key))

    def deliver(self) -> None:
        if self.broker_up:
            self.delivered += [value for _, value, _ in self.queue]
            self.queue.clear()

    def poll(self, timeout: float = 0) -> int:
        self.deliver()
        return 0

    def flush(self, timeout: float = 0) -> int:
        self.deliver()
        return len(self.queue)

    def purge(self, in_queue: bool = True, in_flight: bool = True, blocking: bool = True) -> None:
        purged, self.queue = self.queue, []
        for topic, value, key in purged:
            self._on_failure(None, FakeMessage(topic, value, key))  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.queue)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.5  # every look at the clock moves it: waits end quickly
        return self.now


def make(tmp_path: Path, bound: int = 3, spool_bytes: int = 1 << 20) -> tuple[Delivery, list]:
    made: list[StandInProducer] = []

    def factory(on_failure: Callable[[KafkaError | None, Message], None]) -> StandInProducer:
        made.append(StandInProducer(bound, on_failure))
        return made[0]

    spool = Spool(tmp_path / "spool", spool_bytes)
    return Delivery(factory, spool, clock=Clock()), made  # type: ignore[arg-type]


def values(count: int, start: int = 0) -> list[bytes]:
    return [b"line-%d" % n for n in range(start, start + count)]


def test_a_healthy_broker_gets_every_record_without_touching_the_spool(tmp_path: Path) -> None:
    delivery, (producer,) = make(tmp_path)
    for batch in range(5):
        delivery.submit("tcp", "t", None, values(3, batch * 3))
        delivery.tick()
    assert producer.delivered == values(15)
    assert delivery.state is State.LIVE
    assert delivery.spool_depth == 0


def test_an_outage_spools_then_replays_everything_in_order(tmp_path: Path) -> None:
    delivery, (producer,) = make(tmp_path)
    producer.broker_up = False
    delivery.submit("tcp", "t", None, values(10))
    assert delivery.state is State.SPOOLING
    assert len(producer.queue) == 3 and delivery.spool_depth == 7
    delivery.submit("tcp", "t", None, values(5, 10))  # straight to the spool, after the rest
    producer.broker_up = True
    for _ in range(10):
        delivery.tick()
    assert producer.delivered == values(15)
    assert delivery.state is State.LIVE
    assert delivery.spool_depth == 0


def test_a_stop_during_an_outage_spools_memory_in_front_and_a_restart_replays_it(
    tmp_path: Path,
) -> None:
    delivery, (producer,) = make(tmp_path)
    producer.broker_up = False
    delivery.submit("tcp", "t", b"k", values(10))
    delivery.close()  # 3 in memory are purged and written in front of the 7 spooled
    restarted, (fresh,) = make(tmp_path)
    assert restarted.state is State.SPOOLING
    for _ in range(10):
        restarted.tick()
    assert fresh.delivered == values(10)


def test_a_stop_while_replaying_leaves_the_segment_on_disk_for_next_time(tmp_path: Path) -> None:
    delivery, (producer,) = make(tmp_path, bound=100)
    producer.broker_up = False
    producer.bound = 0  # memory refuses everything: all to the spool
    delivery.submit("tcp", "t", None, values(5))
    producer.bound = 100
    delivery.tick()  # replay starts: the segment's records are queued, broker still down
    assert len(producer.queue) == 5
    delivery.close()
    restarted, (fresh,) = make(tmp_path)
    for _ in range(5):
        restarted.tick()
    assert fresh.delivered == values(5)


def test_a_full_spool_blocks_until_replay_makes_room(tmp_path: Path) -> None:
    delivery, (producer,) = make(tmp_path, bound=1, spool_bytes=1 << 20)
    producer.broker_up = False
    delivery.submit("tcp", "t", None, [b"in memory", b"x" * (1 << 20)])
    assert delivery.blocked
    producer.broker_up = True
    for _ in range(5):
        delivery.tick()
    assert not delivery.blocked
    assert producer.delivered == [b"in memory", b"x" * (1 << 20)]
