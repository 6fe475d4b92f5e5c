"""One worker process: its listeners, its Kafka producer, its spool directory.

Lifecycle: START (open the spool, count what it holds, bind the sockets) → READY (the
supervisor is told) → SERVING (reads go through the pipeline; every ``TICK_S`` the
delivery serves producer callbacks, fsyncs, replays and the listeners re-check
back-pressure) → STOPPING on SIGTERM or SIGINT (stop accepting, deliver what framers
hold, flush the producer or spool what it still holds: see ``delivery.Delivery.close``)
→ exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from confluent_kafka import KafkaError, Message, Producer

from turnout.syslog import logs
from turnout.syslog.balance import Balancer
from turnout.syslog.delivery import Delivery, ProducerPort, producer_config
from turnout.syslog.listeners import StreamListeners, UdpListener
from turnout.syslog.pipeline import Pipeline
from turnout.syslog.settings import SyslogSettings
from turnout.syslog.spool import Spool

log = logging.getLogger(__name__)

#: The periodic step: producer callbacks, spool fsync, replay, back-pressure check.
#: Replay and resume-after-blocked react within this.
TICK_S: Final = 0.05
#: librdkafka reports "all brokers down" and the like every few seconds during an
#: outage; one line per this many errors is enough to see it.
_KAFKA_ERROR_LOG_EVERY: Final = 20


def worker_spool_dir(settings: SyslogSettings, index: int) -> Path:
    return settings.spool_dir / f"worker-{index}"


def make_producer_factory(
    settings: SyslogSettings,
) -> Callable[[Callable[[KafkaError | None, Message], None]], ProducerPort]:
    errors = 0

    def on_error(error: KafkaError) -> None:
        nonlocal errors
        errors += 1
        if errors % _KAFKA_ERROR_LOG_EVERY == 1:
            log.warning("Kafka client error", extra={"event": "kafka-error", "error": str(error)})

    def make(on_failure: Callable[[KafkaError | None, Message], None]) -> ProducerPort:
        config = producer_config(
            settings.kafka_bootstrap,
            settings.memory_queue_lines,
            settings.memory_queue_bytes,
            settings.max_message,
            dict(settings.kafka),
        )
        config["on_delivery"] = on_failure
        config["error_cb"] = on_error
        producer: ProducerPort = Producer(config)
        return producer

    return make


async def serve(
    settings: SyslogSettings,
    index: int,
    on_ready: Callable[[], None],
    balancer: Balancer | None = None,
) -> None:
    spool = Spool(worker_spool_dir(settings, index), settings.spool_max_bytes)
    waiting = spool.count_existing()
    if waiting:
        log.info("replaying the spool", extra={"event": "replay", "records": waiting})
    delivery = Delivery(make_producer_factory(settings), spool)
    pipeline = Pipeline(settings, delivery)
    streams = StreamListeners(settings, pipeline, index, balancer)
    udp = UdpListener(settings, pipeline)
    await streams.start()
    if settings.udp_port:
        udp.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    on_ready()
    log.info("serving", extra={"event": "ready", "listeners": ",".join(settings.listener_names)})
    while not stop.is_set():
        delivery.tick()
        streams.check_blocked()
        udp.count_kernel_drops()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), TICK_S)
    log.info("stopping", extra={"event": "stopping"})
    await streams.stop()
    udp.stop()
    delivery.close()
    log.info("stopped", extra={"event": "stopped"})


def run(settings_json: str, index: int, ready: Any, counts: Any, supervisor_pid: int) -> None:
    """Process entry point, spawned by the supervisor: ``ready`` is an Event, ``counts``
    the workers' shared connection counts (None with one worker)."""
    settings = SyslogSettings.model_validate_json(settings_json)
    logs.configure(settings.log_level, worker=index)
    balancer = None if counts is None else Balancer(counts, supervisor_pid, index)
    asyncio.run(serve(settings, index, ready.set, balancer))
