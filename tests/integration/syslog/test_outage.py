"""No TCP line is lost through a broker outage, nor through a restart of the server
during it (the spool replays), nor when the spool fills and the server stops reading.
On a Kafka of the module's own, stopped and started."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.support.kafka_only import dedicated_kafka  # noqa: F401 (a fixture)
from tests.support.services import create_topic
from tests.support.syslog_kit import (
    LoadSender,
    SyslogServer,
    line,
    octet,
    send_and_drain,
    wait_for_numbers,
)
from turnout.devstack.standalone import StandaloneKafka

OUTAGE_S = 10.0
PARTITIONS = 4
#: Lines per second of load: enough to fill the (smallest) memory queue within the outage.
RATE = 4000
#: After Kafka is back, every line must be in it within this (broker start, replay).
DELIVERY_TIMEOUT_S = 120.0


def test_a_broker_outage_and_a_server_restart_during_it_lose_no_tcp_line(
    dedicated_kafka: StandaloneKafka,  # noqa: F811
    tmp_path: Path,
) -> None:
    kafka = dedicated_kafka
    create_topic(kafka.bootstrap, "outage", PARTITIONS)
    server = SyslogServer(
        tmp_path, kafka.bootstrap, "--topic", "outage", "--memory-queue-lines", "1000",
    )  # fmt: skip
    server.start()
    load = LoadSender(server.tcp_port, RATE)
    try:
        load.resume()
        time.sleep(2)
        kafka.stop()
        stopped = time.monotonic()
        time.sleep(3)  # load goes on: the memory queue fills, then the spool
        load.pause_and_drain()  # the server has read every line sent so far
        spooled_before_restart = server.metrics()['turnout_syslog_spooled_total{listener="tcp"}']
        server.stop()
        server.start()  # Kafka is still down: the restarted server spools what it reads
        load.resume()
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
        kafka.start()
        time.sleep(2)
        load.pause_and_drain()
        sent = set(range(load.next_number))
        found = wait_for_numbers(kafka.bootstrap, "outage", PARTITIONS, sent, DELIVERY_TIMEOUT_S)
        metrics = server.metrics()
    finally:
        load.pause_and_drain()
        server.stop()
        if not kafka.running:
            kafka.start()
    assert sent - found == set(), f"lost {len(sent - found)} of {len(sent)}"
    assert spooled_before_restart > 0
    assert metrics["turnout_syslog_replayed_total"] > 0


#: Lines in flight when the spool fills: far more than loopback socket buffers hold, so
#: the sender must feel the back-pressure.
BACKLOG = 200_000


def test_a_full_spool_stops_the_reading_until_kafka_is_back_and_loses_nothing(
    dedicated_kafka: StandaloneKafka,  # noqa: F811
    tmp_path: Path,
) -> None:
    kafka = dedicated_kafka
    create_topic(kafka.bootstrap, "backpressure", PARTITIONS)
    server = SyslogServer(
        tmp_path, kafka.bootstrap, "--topic", "backpressure", "--memory-queue-lines", "1000",
        "--spool-max-bytes", str(1024 * 1024), workers=1,
    )  # fmt: skip
    server.start()
    sender = threading.Thread(
        target=send_and_drain,
        args=(server.tcp_port, octet(*(line(n) for n in range(BACKLOG)))),
    )
    try:
        kafka.stop()
        sender.start()
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S
        while server.metrics()["turnout_syslog_blocked"] != 1:
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.2)
        time.sleep(2)
        assert sender.is_alive(), "the sender finished although the server stopped reading"
        read_while_blocked = server.metrics()['turnout_syslog_received_total{listener="tcp"}']
        assert read_while_blocked < BACKLOG
        kafka.start()
        sender.join(DELIVERY_TIMEOUT_S)
        assert not sender.is_alive()
        found = wait_for_numbers(
            kafka.bootstrap, "backpressure", PARTITIONS, set(range(BACKLOG)), DELIVERY_TIMEOUT_S
        )
        metrics = server.metrics()
    finally:
        server.stop()
        if not kafka.running:
            kafka.start()
    assert set(range(BACKLOG)) - found == set()
    assert metrics["turnout_syslog_blocked"] == 0
