"""UDP is best effort: under overload datagrams are dropped, and every drop is counted."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.services import Services
from tests.support.syslog_kit import SyslogServer, line, read_numbers, running

#: Enough datagrams, from enough senders, to overflow the socket's receive buffer even on
#: an idle machine, where the server drains it fastest.
DATAGRAMS = 150_000
SENDERS = 6
#: The server's counters stop moving within this once the burst is over.
SETTLE_S = 3.0


def blast(port: int) -> None:
    def one(numbers: range) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for number in numbers:
                udp.sendto(line(number), ("127.0.0.1", port))

    threads = [
        threading.Thread(target=one, args=(range(i, DATAGRAMS, SENDERS),)) for i in range(SENDERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_udp_drops_under_overload_are_counted_and_match_what_is_missing(
    services: Services, topic_factory: Callable[..., str], tmp_path: Path
) -> None:
    topic = topic_factory()
    server = SyslogServer(tmp_path, services.kafka, "--topic", topic, workers=1)
    with running(server):
        blast(server.udp_port)
        previous: dict[str, float] = {}
        while (current := server.metrics()) != previous:
            previous = current
            time.sleep(SETTLE_S)
    received = current['turnout_syslog_received_total{listener="udp"}']
    dropped = current.get('turnout_syslog_dropped_total{listener="udp",reason="udp_overflow"}', 0)
    found = read_numbers(services.kafka, topic, 1)
    assert len(set(found)) == len(found) == received
    assert received + dropped == DATAGRAMS
    assert dropped > 0, "the burst did not overload the server: the test proved nothing"
