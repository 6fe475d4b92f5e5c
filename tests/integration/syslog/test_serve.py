"""``turnout syslog serve`` end to end on the session's Kafka: both framings on one port,
parsed JSON, UDP, a Unix socket, topic templates, TLS with client certificates, metrics
and health."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.services import Services
from tests.support.syslog_kit import (
    SyslogServer,
    octet,
    read_numbers,
    running,
    send_and_drain,
    wait_for_numbers,
)
from turnout.devstack.process import free_port

#: Lines reach Kafka within milliseconds; a loaded machine and a cold producer take longer.
ARRIVAL_TIMEOUT_S = 60.0


def line(number: int, app: str = "app") -> bytes:
    return b"<134>1 2026-12-06T10:00:00.000+01:00 web01 %s 42 ID7 - n=%d" % (app.encode(), number)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def test_octet_counted_and_lf_clients_on_one_port_arrive_parsed_as_json(
    services: Services, topic_factory: Callable[..., str], workdir: Path
) -> None:
    topic = topic_factory(partitions=2)
    server = SyslogServer(workdir, services.kafka, "--topic", topic, "--format", "json")
    with running(server):
        send_and_drain(server.tcp_port, octet(*(line(n) for n in range(50))))
        send_and_drain(server.tcp_port, b"".join(line(n) + b"\n" for n in range(50, 100)))
        send_and_drain(server.tcp_port, b"<13>Dec  6 10:00:00 host su: n=100\nnot syslog n=101\n")
        found = wait_for_numbers(services.kafka, topic, 2, set(range(102)), ARRIVAL_TIMEOUT_S)
        metrics = server.metrics()
    assert found == set(range(102))
    assert metrics['turnout_syslog_received_total{listener="tcp"}'] == 102
    assert metrics['turnout_syslog_parsed_total{listener="tcp"}'] == 101
    assert metrics['turnout_syslog_malformed_total{listener="tcp"}'] == 1


def test_json_values_carry_the_parsed_fields(
    services: Services, topic_factory: Callable[..., str], workdir: Path
) -> None:
    topic = topic_factory()
    server = SyslogServer(workdir, services.kafka, "--topic", topic, "--format", "json")
    with running(server):
        send_and_drain(server.tcp_port, octet(line(7)))
        wait_for_numbers(services.kafka, topic, 1, {7}, ARRIVAL_TIMEOUT_S)
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": services.kafka, "group.id": topic})
    consumer.assign([TopicPartition(topic, 0, 0)])
    (message,) = consumer.consume(1, timeout=30)
    consumer.close()
    assert json.loads(message.value()) == {
        "syntax": "rfc5424", "facility": 16, "severity": 6,
        "timestamp": "2026-12-06T10:00:00.000+01:00", "host": "web01", "app": "app",
        "procid": "42", "msgid": "ID7", "sd": None, "msg": "n=7",
    }  # fmt: skip


def test_logline_values_with_a_key_template_decode_with_the_schema(
    services: Services, topic_factory: Callable[..., str], workdir: Path
) -> None:
    topic = topic_factory()
    server = SyslogServer(
        workdir, services.kafka, "--topic", topic, "--format", "logline", "--key", "{host}",
        "--source", "web", "--tag", "dc=eu", "--log-type-id", "3",
    )  # fmt: skip
    before = int(time.time() * 1000)
    with running(server):
        send_and_drain(server.tcp_port, octet(line(5)))
        wait_for_numbers(services.kafka, topic, 1, {5}, ARRIVAL_TIMEOUT_S)
    from confluent_kafka import Consumer, TopicPartition

    from turnout.syslog.logline_pb2 import LogLine

    consumer = Consumer({"bootstrap.servers": services.kafka, "group.id": topic})
    consumer.assign([TopicPartition(topic, 0, 0)])
    (message,) = consumer.consume(1, timeout=30)
    consumer.close()
    decoded = LogLine.FromString(message.value())
    assert message.key() == b"web01"
    assert decoded.line == line(5).decode()
    assert (decoded.source, decoded.logtypeid) == ("web", 3)
    assert [(tag.key, tag.value) for tag in decoded.tag] == [("dc", "eu")]
    received, produced = decoded.timings
    assert before <= received <= produced <= int(time.time() * 1000)


def test_udp_unix_socket_and_a_topic_template(
    services: Services, topic_factory: Callable[..., str], workdir: Path
) -> None:
    base = topic_factory()  # a unique prefix; the routed topics are created below
    from tests.support.services import create_topic

    for app in ("alpha", "beta"):
        create_topic(services.kafka, f"{base}-{app}")
    unix_path = workdir / "syslog.sock"
    server = SyslogServer(
        workdir, services.kafka, "--topic", base + "-{app}", "--unix-socket", str(unix_path),
    )  # fmt: skip
    with running(server):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for number in range(20):
            udp.sendto(line(number, "alpha"), ("127.0.0.1", server.udp_port))
        udp.close()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
            unix.connect(str(unix_path))
            unix.sendall(b"".join(line(n, "beta") + b"\n" for n in range(20, 40)))
            unix.shutdown(socket.SHUT_WR)
            while unix.recv(1024):
                pass
        alpha = wait_for_numbers(services.kafka, f"{base}-alpha", 1, set(range(20)), 60)
        beta = wait_for_numbers(services.kafka, f"{base}-beta", 1, set(range(20, 40)), 60)
    assert alpha == set(range(20))
    assert beta == set(range(20, 40))


def test_long_lived_connections_are_spread_evenly_over_the_workers(
    services: Services, workdir: Path
) -> None:
    server = SyslogServer(workdir, services.kafka, "--topic", "unused", workers=2)
    with running(server):
        senders = [socket.create_connection(("127.0.0.1", server.tcp_port)) for _ in range(8)]
        try:
            deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
            while time.monotonic() < deadline:
                per_worker = sorted(
                    value
                    for name, value in server.metrics().items()
                    if name.startswith("turnout_syslog_connections{") and 'listener="tcp"' in name
                )
                if sum(per_worker) == 8:
                    break
                time.sleep(0.1)
        finally:
            for sender in senders:
                sender.close()
    assert per_worker == [4, 4]


def test_health_and_metrics_endpoints_answer(services: Services, workdir: Path) -> None:
    server = SyslogServer(workdir, services.kafka, "--topic", "unused")
    with running(server):
        with urllib.request.urlopen(server.url("/healthz")) as answer:
            health = json.loads(answer.read())
        metrics = server.metrics()
    assert health == {"status": "ok", "workers": 2, "serving": 2, "listeners": ["tcp", "udp"]}
    assert metrics['turnout_syslog_queue_depth{queue="memory"}'] == 0
    assert metrics["turnout_syslog_blocked"] == 0


# ---- TLS (RFC 5425) with a CA made here -------------------------------------------------


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
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
    yield here


def client_context(pki: Path, with_certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if with_certificate:
        context.load_cert_chain(pki / "client.pem", pki / "client.key")
    return context


def test_tls_with_a_required_client_certificate(
    services: Services, topic_factory: Callable[..., str], workdir: Path, pki: Path
) -> None:
    topic = topic_factory()
    tls_port = free_port()
    server = SyslogServer(
        workdir, services.kafka, "--topic", topic, "--tls-port", str(tls_port),
        "--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"),
        "--tls-client-ca", str(pki / "ca.pem"), "--tls-client-auth", "required",
    )  # fmt: skip
    with running(server):
        send_and_drain(tls_port, octet(*(line(n) for n in range(10))), client_context(pki, True))
        no_certificate = client_context(pki, False)
        # TLS 1.2: the refusal comes inside the handshake, so the client sees it at once
        # (in 1.3 the server's alert can come after the client has finished sending).
        no_certificate.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises(ssl.SSLError):
            send_and_drain(tls_port, octet(line(99)), no_certificate)
        found = wait_for_numbers(services.kafka, topic, 1, set(range(10)), ARRIVAL_TIMEOUT_S)
        assert server.metrics()['turnout_syslog_received_total{listener="tls"}'] == 10
    assert found == set(range(10))
    assert 99 not in read_numbers(services.kafka, topic, 1, settle_s=1.0)
