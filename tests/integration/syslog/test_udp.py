"""UDP is best effort: under overload datagrams are dropped, and every drop is counted."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.support.services import Services
from tests.support.syslog_kit import SyslogServer, line, read_numbers, running

#: Many times what the socket's receive buffer holds (a few thousand small datagrams at
#: the kernel's per-datagram cost), so a burst into a frozen worker must overflow it.
DATAGRAMS = 60_000
SENDERS = 4
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


@contextlib.contextmanager
def frozen_workers(server: SyslogServer) -> Iterator[None]:
    """Stop the server's worker processes (SIGSTOP) for the block: a worker that cannot
    keep up, without depending on how fast this machine happens to be."""
    assert server.process is not None
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert children, "the syslog server has no worker processes"
    workers = [int(child) for child in children]
    for worker in workers:
        os.kill(worker, signal.SIGSTOP)
    try:
        yield
    finally:
        for worker in workers:
            os.kill(worker, signal.SIGCONT)


def test_udp_drops_under_overload_are_counted_and_match_what_is_missing(
    services: Services, topic_factory: Callable[..., str], tmp_path: Path
) -> None:
    topic = topic_factory()
    server = SyslogServer(tmp_path, services.kafka, "--topic", topic, workers=1)
    with running(server):
        with frozen_workers(server):
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
