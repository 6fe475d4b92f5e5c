"""Exactly-once processors under blue/green: switches, a SIGKILLed owner and a frozen one
leave every input's output in the output topic exactly once (read_committed), in per-key
order, and the frozen owner's late transaction fails fenced.

The switch test runs ``EOS_SWITCHES`` switches (5; ``TURNOUT_EOS_SWITCHES=20`` for the
issue's full run)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from confluent_kafka import Consumer, KafkaException, TopicPartition
from tenacity import retry, retry_if_exception, stop_after_delay, wait_fixed

from tests.support.agent_handlers import HOLD_FILE_ENV, inside_marker
from tests.support.agent_kit import REPO_ROOT, LoadProducer, World, wait_until
from tests.support.served_metrics import served_metric
from tests.support.waiting import wait_until_frozen
from turnout.devstack.process import free_port
from turnout.producer import ProducerConfig, TransactionalProducer
from turnout.producer.transactional import TRANSACTION_CALL_TIMEOUT_S
from turnout.protocol import Colour, Role, Strategy
from turnout.protocol.processing import ProcessingSettings
from turnout.verify import judge_outputs, read_outputs

EOS_SWITCHES = int(os.environ.get("TURNOUT_EOS_SWITCHES", "5"))
#: Keyed load: records per second and keys.
RATE_PER_S = 200
#: How long a read of committed offsets retries a coordinator that moves or loads.
COORDINATOR_SETTLE_S = 30.0
KEYS = 11
#: Session of the spawned agents (the frozen one must outlive it), seconds.
SESSION_S = 6.0


def _settings(live: str, preview: str) -> ProcessingSettings:
    return ProcessingSettings.model_validate(
        {
            "version": 2,
            "ordering": "partition",
            "workers": 4,
            "guarantee": "exactly_once",
            "outputs": {"enriched": {"live": live, "preview": preview}},
        }
    )


class Processor:
    """A ``turnout agent run`` process whose output goes to a log file."""

    def __init__(
        self,
        world: World,
        colour: Colour,
        instance: str,
        handler: str,
        *,
        metrics: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self.instance = instance
        #: Where its Prometheus metrics are served (None: not served).
        self.metrics_port = free_port() if metrics else None
        served = ["--metrics-port", str(self.metrics_port)] if self.metrics_port else []
        self.log = world.log_dir / f"{instance}-{time.monotonic_ns()}.log"
        with self.log.open("w") as sink:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "turnout",
                    "agent",
                    "run",
                    f"tests.support.agent_handlers:{handler}",
                    "--deployment",
                    "dep",
                    "--colour",
                    str(colour),
                    "--instance",
                    instance,
                    "--zookeeper",
                    world.zookeeper,
                    "--kafka",
                    world.kafka,
                    "--session-timeout",
                    str(SESSION_S),
                    "--fence-margin",
                    "1",
                    "-X",
                    "fetch.wait.max.ms=50",
                    *served,
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
                env={**os.environ, **(env or {})},
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def metric(self, name: str) -> float:
        """A sample of its served metrics (0 if absent)."""
        assert self.metrics_port is not None
        return served_metric(self.metrics_port, name)


def _warm_transactions(kafka: str) -> None:
    """Create the broker's transaction state topic before the agents need it: the first
    ``init_transactions`` on a fresh cluster waits for it (seconds), longer than a
    switch's drain allows."""
    producer: TransactionalProducer = TransactionalProducer(
        ProducerConfig(bootstrap_servers=kafka), f"warm-{time.monotonic_ns()}"
    )
    try:
        producer.init_transactions()
    finally:
        producer.close(5.0)


def _eos_world(
    make_world: Callable[..., World], topic_factory: Callable[..., str], **directive: object
) -> tuple[World, str]:
    """A world of 4 input partitions whose deployment runs exactly-once processors (and
    ``directive``'s other fields), and the live output topic."""
    world = make_world(partitions=4)
    _warm_transactions(world.kafka)
    live, preview = topic_factory(4), topic_factory(4)
    world.create_directive(processing=_settings(live, preview), **directive)
    return world, live


def _wait_owned(world: World, instance: str, epoch: int) -> None:
    wait_until(
        lambda: world.all_owned({instance}, epoch=epoch),
        30,
        f"{instance} owns everything at epoch {epoch}",
    )


def _retriable(exc: BaseException) -> bool:
    return isinstance(exc, KafkaException) and bool(exc.args[0].retriable())


# A group coordinator that moves or loads (NOT_COORDINATOR) answers again within seconds.
@retry(
    retry=retry_if_exception(_retriable),
    stop=stop_after_delay(COORDINATOR_SETTLE_S),
    wait=wait_fixed(0.2),
    reraise=True,
)
def _committed_and_ends(world: World) -> list[tuple[int, int]]:
    """(committed offset, end offset) of every input partition."""
    consumer = Consumer({"bootstrap.servers": world.kafka, "group.id": world.group})
    try:
        tps = [TopicPartition(world.topic, p) for p in range(world.partitions)]
        committed = consumer.committed(tps, timeout=10.0)
        ends = [consumer.get_watermark_offsets(tp, timeout=10.0)[1] for tp in tps]
        return [(c.offset, end) for c, end in zip(committed, ends, strict=True)]
    finally:
        consumer.close()


def _parse(key: bytes | None, value: bytes | None) -> tuple[str, int]:
    assert key is not None and value is not None and value.endswith(b"|enriched"), value
    return key.decode(), int(value.removesuffix(b"|enriched").removeprefix(b"v-"))


def _judge(world: World, topic: str, sent: int) -> None:
    wait_until(
        lambda: all(c == end for c, end in _committed_and_ends(world)),
        60,
        lambda: f"every input committed: (committed, end) {_committed_and_ends(world)}",
    )
    outputs = read_outputs(world.kafka, topic, _parse)
    report = judge_outputs(range(sent), outputs)
    assert report.ok, report


def test_switches_under_keyed_load_leave_each_output_exactly_once_in_key_order(
    make_world: Callable[..., World], topic_factory: Callable[..., str]
) -> None:
    world, live = _eos_world(make_world, topic_factory)
    processors = [
        Processor(world, Colour.BLUE, "blue-1", "enrich"),
        Processor(world, Colour.GREEN, "green-1", "enrich"),
    ]
    try:
        wait_until(lambda: world.all_owned({"blue-1"}), 30, "blue owns everything")
        load = LoadProducer(world.kafka, world.topic, world.log_dir, RATE_PER_S, keys=KEYS).start()
        owner = {Colour.BLUE: "blue-1", Colour.GREEN: "green-1"}
        live_colour = Colour.BLUE
        for _ in range(EOS_SWITCHES):
            time.sleep(1.0)
            other = Colour.GREEN if live_colour is Colour.BLUE else Colour.BLUE
            switched = world.update_directive(roles={other: Role.LIVE, live_colour: Role.STANDBY})
            live_colour = other
            _wait_owned(world, owner[live_colour], switched.directive.epoch)
        time.sleep(1.0)
        sent = load.stop()
        _judge(world, live, sent)
    finally:
        for processor in processors:
            processor.stop()
    for processor in processors:
        assert processor.process.returncode == 0, processor.output()[-3000:]


def test_pin_moves_under_keyed_load_leave_each_output_exactly_once_in_key_order(
    make_world: Callable[..., World], topic_factory: Callable[..., str]
) -> None:
    world, live = _eos_world(make_world, topic_factory, strategy=Strategy.MANUAL)
    world.update_directive(pins={f"{world.topic}/0": "a"})
    processors = [
        Processor(world, Colour.BLUE, "a", "enrich"),
        Processor(world, Colour.BLUE, "b", "enrich"),
    ]
    try:
        wait_until(lambda: world.owner_map().get(world.tp(0)) == "a", 30, "a owns the pin")
        load = LoadProducer(world.kafka, world.topic, world.log_dir, RATE_PER_S, keys=KEYS).start()
        for move in range(4):
            time.sleep(1.0)
            target = "b" if move % 2 == 0 else "a"
            world.update_directive(pins={f"{world.topic}/0": target})
            wait_until(
                lambda: world.owner_map().get(world.tp(0)) == target,  # noqa: B023
                30,
                f"the pin moved to {target}",
            )
        time.sleep(1.0)
        sent = load.stop()
        _judge(world, live, sent)
    finally:
        for processor in processors:
            processor.stop()


def test_a_killed_owner_and_a_frozen_one_leave_each_output_exactly_once_and_fence_the_frozen(
    make_world: Callable[..., World], topic_factory: Callable[..., str]
) -> None:
    world, live = _eos_world(make_world, topic_factory)
    hold = world.log_dir / "hold-b"
    killed = Processor(world, Colour.BLUE, "a", "enrich_slowly")
    frozen = Processor(
        world, Colour.BLUE, "b", "enrich_held", metrics=True, env={HOLD_FILE_ENV: str(hold)}
    )
    processors = [killed, frozen]
    try:
        wait_until(lambda: world.balanced({"a", "b"}), 30, "a and b share the partitions")
        load = LoadProducer(world.kafka, world.topic, world.log_dir, RATE_PER_S, keys=KEYS).start()
        time.sleep(2.0)
        killed.process.send_signal(signal.SIGKILL)  # mid-transaction: it is always in one
        killed.process.wait(timeout=10)
        wait_until(lambda: world.all_owned({"b"}), 30, "b takes a's partitions")
        time.sleep(1.0)
        taker = Processor(world, Colour.BLUE, "c", "enrich_slowly")
        processors.append(taker)
        wait_until(lambda: world.balanced({"b", "c"}), 30, "c takes a share")
        time.sleep(1.0)
        # Frozen inside a processor call, so certainly in an open transaction.
        hold.touch()
        wait_until(lambda: inside_marker(hold).exists(), 30, "b is held inside a call")
        frozen.process.send_signal(signal.SIGSTOP)
        wait_until_frozen(frozen.process.pid)
        hold.unlink()
        wait_until(lambda: world.all_owned({"c"}), 30, "c takes the frozen b's partitions")
        time.sleep(1.0)
        # Before the wake the taker may have been fenced by a late run of a past
        # ownership and taken its id back (the runner's designed zombie case); what
        # the frozen owner's wake must never do is fence the partitions' new owner.
        # Judged by the log lines' own times: a process's output file fills late.
        woken_at = datetime.now(UTC)
        frozen.process.send_signal(signal.SIGCONT)
        wait_until(
            lambda: "transaction_fenced" in frozen.output(),
            # Its commit may wait out one transaction call's bound before it hears.
            TRANSACTION_CALL_TIMEOUT_S + 30,
            lambda: (
                "the woken owner's open transaction fails fenced; its output:\n"
                + frozen.output()[-6000:]
            ),
        )
        assert frozen.metric("turnout_processor_transactions_fenced_total") >= 1
        time.sleep(2.0)
        sent = load.stop()
        _judge(world, live, sent)
    finally:
        for processor in processors:
            if processor.process.poll() is None:
                processor.process.send_signal(signal.SIGCONT)
            processor.stop()
    assert "transaction_fenced" in frozen.output()
    fenced_after_wake = [
        line
        for line in taker.output().splitlines()
        if '"transaction_fenced"' in line
        and datetime.fromisoformat(json.loads(line)["ts"]) >= woken_at
    ]
    assert not fenced_after_wake, fenced_after_wake
