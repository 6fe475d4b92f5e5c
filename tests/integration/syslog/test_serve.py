"""``turnout syslog serve`` end to end on the session's Kafka: both framings on one port,
parsed JSON, UDP, a Unix socket, a topic template, TLS with client certificates, even
spreading of connections, metrics and health.

Most tests share one server (JSON values, topic ``<prefix>-{app}``, every listener on):
each test sends with its own app name, so it reads its own topic, and judges counters by
how much they moved.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Message, TopicPartition

from tests.support.services import Services, create_topic, unique_name
from tests.support.syslog_kit import (
    SyslogServer,
    octet,
    read_numbers,
    running,
    send_and_drain,
    wait_for_numbers,
)
from turnout.devstack.process import free_port
from turnout.syslog.logline_pb2 import LogLine

#: Lines reach Kafka within milliseconds; a loaded machine and a cold producer take longer.
ARRIVAL_TIMEOUT_S = 60.0


def line(number: int, app: str) -> bytes:
    return b"<134>1 2026-12-06T10:00:00.000+01:00 web01 %s 42 ID7 - n=%d" % (app.encode(), number)


# ---- TLS material: a CA made here --------------------------------------------------------


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it."""
    here = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=turnout test CA", cwd=here)  # fmt: skip
    (here / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, extension in (("server", ["-extfile", "san.ext"]), ("client", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
                "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=here)  # fmt: skip
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", *extension,
                cwd=here)  # fmt: skip
    return here


def client_context(pki: Path, with_certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if with_certificate:
        context.load_cert_chain(pki / "client.pem", pki / "client.key")
    return context


# ---- the shared server -------------------------------------------------------------------


@dataclass
class Shared:
    server: SyslogServer
    kafka: str
    prefix: str
    tls_port: int
    unix_path: Path

    def topic(self, app: str, partitions: int = 1) -> str:
        """Create and name the topic the template routes ``app``'s lines to."""
        name = f"{self.prefix}-{app}"
        create_topic(self.kafka, name, partitions)
        return name


@pytest.fixture(scope="module")
def shared(
    services: Services, pki: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shared]:
    workdir = tmp_path_factory.mktemp("syslog-serve")
    prefix = unique_name("syslog")
    tls_port = free_port()
    unix_path = workdir / "syslog.sock"
    server = SyslogServer(
        workdir, services.kafka, "--format", "json", "--topic", prefix + "-{app}",
        "--unix-socket", str(unix_path), "--tls-port", str(tls_port),
        "--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"),
        "--tls-client-ca", str(pki / "ca.pem"), "--tls-client-auth", "required",
    )  # fmt: skip
    with running(server):
        yield Shared(server, services.kafka, prefix, tls_port, unix_path)


def moved(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0) - before.get(name, 0)


def first_record(bootstrap: str, topic: str) -> Message:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": topic})
    consumer.assign([TopicPartition(topic, 0, 0)])
    (message,) = consumer.consume(1, timeout=ARRIVAL_TIMEOUT_S)
    consumer.close()
    return message


def test_octet_counted_and_lf_clients_on_one_port_arrive_and_are_counted(
    shared: Shared,
) -> None:
    topic = shared.topic("framing", partitions=2)
    unknown = shared.topic("unknown")  # where lines without an app name go
    before = shared.server.metrics()
    port = shared.server.tcp_port
    send_and_drain(port, octet(*(line(n, "framing") for n in range(50))))
    send_and_drain(port, b"".join(line(n, "framing") + b"\n" for n in range(50, 100)))
    send_and_drain(port, b"<13>Dec  6 10:00:00 host framing: n=100\nnot syslog n=101\n")
    found = wait_for_numbers(shared.kafka, topic, 2, set(range(101)), ARRIVAL_TIMEOUT_S)
    found_raw = wait_for_numbers(shared.kafka, unknown, 1, {101}, ARRIVAL_TIMEOUT_S)
    after = shared.server.metrics()
    assert found == set(range(101))
    assert found_raw == {101}
    assert moved(before, after, 'turnout_syslog_received_total{listener="tcp"}') == 102
    assert moved(before, after, 'turnout_syslog_parsed_total{listener="tcp"}') == 101
    assert moved(before, after, 'turnout_syslog_malformed_total{listener="tcp"}') == 1


def test_json_values_carry_the_parsed_fields(shared: Shared) -> None:
    topic = shared.topic("fields")
    send_and_drain(shared.server.tcp_port, octet(line(7, "fields")))
    assert json.loads(first_record(shared.kafka, topic).value() or b"") == {
        "syntax": "rfc5424", "facility": 16, "severity": 6,
        "timestamp": "2026-12-06T10:00:00.000+01:00", "host": "web01", "app": "fields",
        "procid": "42", "msgid": "ID7", "sd": None, "msg": "n=7",
    }  # fmt: skip


def test_udp_and_the_unix_socket_route_by_the_topic_template(shared: Shared) -> None:
    udp_topic, unix_topic = shared.topic("udp"), shared.topic("unix")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for number in range(20):
            udp.sendto(line(number, "udp") + b"\n", ("127.0.0.1", shared.server.udp_port))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        unix.connect(str(shared.unix_path))
        unix.sendall(b"".join(line(n, "unix") + b"\n" for n in range(20, 40)))
        unix.shutdown(socket.SHUT_WR)
        while unix.recv(1024):
            pass
    assert wait_for_numbers(shared.kafka, udp_topic, 1, set(range(20)), 60) == set(range(20))
    assert wait_for_numbers(shared.kafka, unix_topic, 1, set(range(20, 40)), 60) == set(
        range(20, 40)
    )


def test_tls_with_a_required_client_certificate(shared: Shared, pki: Path) -> None:
    topic = shared.topic("tls")
    before = shared.server.metrics()
    lines = octet(*(line(n, "tls") for n in range(10)))
    send_and_drain(shared.tls_port, lines, client_context(pki, True))
    no_certificate = client_context(pki, False)
    # TLS 1.2: the refusal comes inside the handshake, so the client sees it at once
    # (in 1.3 the server's alert can come after the client has finished sending).
    no_certificate.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError):
        send_and_drain(shared.tls_port, octet(line(99, "tls")), no_certificate)
    found = wait_for_numbers(shared.kafka, topic, 1, set(range(10)), ARRIVAL_TIMEOUT_S)
    after = shared.server.metrics()
    assert found == set(range(10))
    assert moved(before, after, 'turnout_syslog_received_total{listener="tls"}') == 10
    assert 99 not in read_numbers(shared.kafka, topic, 1, settle_s=1.0)


def test_long_lived_connections_are_spread_evenly_over_the_workers(shared: Shared) -> None:
    senders = [socket.create_connection(("127.0.0.1", shared.server.tcp_port)) for _ in range(8)]
    try:
        deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
        while time.monotonic() < deadline:
            per_worker = sorted(
                value
                for name, value in shared.server.metrics().items()
                if name.startswith("turnout_syslog_connections{") and 'listener="tcp"' in name
            )
            if sum(per_worker) == 8:
                break
            time.sleep(0.1)
    finally:
        for sender in senders:
            sender.close()
    assert per_worker == [4, 4]


def test_health_and_metrics_endpoints_answer(shared: Shared) -> None:
    with urllib.request.urlopen(shared.server.url("/healthz")) as answer:
        health = json.loads(answer.read())
    metrics = shared.server.metrics()
    assert health == {
        "status": "ok", "workers": 2, "serving": 2, "listeners": ["tcp", "tls", "udp", "unix"],
    }  # fmt: skip
    assert 'turnout_syslog_queue_depth{queue="memory"}' in metrics
    assert metrics["turnout_syslog_blocked"] == 0


def test_logline_values_with_a_key_template_decode_with_the_schema(
    services: Services, tmp_path: Path
) -> None:
    topic = unique_name("syslog-logline")
    create_topic(services.kafka, topic)
    server = SyslogServer(
        tmp_path, services.kafka, "--topic", topic, "--format", "logline", "--key", "{host}",
        "--source", "web", "--tag", "dc=eu", "--log-type-id", "3",
    )  # fmt: skip
    before = int(time.time() * 1000)
    with running(server):
        send_and_drain(server.tcp_port, octet(line(5, "app")))
        message = first_record(services.kafka, topic)
    decoded = LogLine.FromString(message.value())
    assert message.key() == b"web01"
    assert decoded.line == line(5, "app").decode()
    assert (decoded.source, decoded.logtypeid) == ("web", 3)
    assert [(tag.key, tag.value) for tag in decoded.tag] == [("dc", "eu")]
    received, produced = decoded.timings
    assert before <= received <= produced <= int(time.time() * 1000)
