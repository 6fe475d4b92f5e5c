"""No TCP line is lost through a broker outage, nor through a restart of the server
during it (the spool replays). On a Kafka of the test's own, stopped and started."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.kafka_only import dedicated_kafka  # noqa: F401 (a fixture)
from tests.support.services import create_topic
from tests.support.syslog_kit import LoadSender, SyslogServer, wait_for_numbers
from turnout.devstack.kafka_server import StandaloneKafka

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
    assert sent - found == set(), f"lost {len(sent - found)} of {len(sent)}"
    assert spooled_before_restart > 0
    assert metrics["turnout_syslog_replayed_total"] > 0
