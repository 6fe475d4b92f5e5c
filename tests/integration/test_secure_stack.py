"""`turnout dev up --secure` is really secured: Kafka serves only SASL_SSL with SCRAM users,
ZooKeeper only TLS with SASL, and the client seams reach both with the credentials the
stack wrote, while a wrong password or a plaintext client is turned away.

The session's secured stack (``secured``, tests/conftest.py) runs beside its plain one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from tests.support.services import Services, create_topic, stack_passwords, unique_name
from turnout.devstack.process import find_ours
from turnout.protocol.kafka_security import KafkaSecurity, load_kafka_security
from turnout.zk import (
    ZkAuthFailedError,
    ZkGateway,
    ZkNoAuthError,
    ZkSecurity,
    ZkUnavailableError,
    load_zk_security,
    world_read_acl,
)

#: A loopback produce/consume of one record over TLS on a busy CI box: seconds at most.
ROUND_TRIP_TIMEOUT_S = 30.0
#: librdkafka reports a refused SCRAM exchange within a second on loopback; the bound is
#: the promise that a wrong password fails fast instead of retrying in silence.
AUTH_FAILURE_BOUND_S = 15.0
#: How long a plaintext client may try before the test calls it refused.
PLAINTEXT_ATTEMPT_S = 5.0
#: kazoo retries a connection the server drops; this bounds the attempt.
ZK_CONNECT_ATTEMPT_S = 5.0
#: What a gateway may take beyond its connect bound to stop its kazoo client.
ZK_STOP_ALLOWANCE_S = 5.0
#: Starting and stopping the JVMs of `turnout dev` on a loaded box.
CLI_TIMEOUT_S = 300.0
#: The client user's settings with a password the servers do not know.
WRONG_PASSWORD = {"password_file": None, "password": "not-the-password"}


def _kafka(services: Services, user: str) -> KafkaSecurity:
    return load_kafka_security(services.client_settings[user])


def _zk(services: Services, user: str) -> ZkSecurity:
    return load_zk_security(services.client_settings[user])


# ---- Kafka ---------------------------------------------------------------------------------


def test_a_record_round_trips_over_sasl_ssl_with_the_client_users_credentials(
    secured: Services,
) -> None:
    topic = unique_name("secure-round-trip")
    create_topic(secured.kafka, topic, client_config=_kafka(secured, "admin").client_config())
    client = _kafka(secured, "client").client_config()
    producer = Producer({"bootstrap.servers": secured.kafka, "acks": "all", **client})
    producer.produce(topic, key=b"k", value=b"over TLS, as client")
    assert producer.flush(ROUND_TRIP_TIMEOUT_S) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": secured.kafka,
            "group.id": unique_name("secure-group"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **client,
        }
    )
    consumer.subscribe([topic])
    try:
        message = consumer.poll(ROUND_TRIP_TIMEOUT_S)
        assert message is not None, "the record did not come back"
        assert message.error() is None, message.error()
        assert message.value() == b"over TLS, as client"
    finally:
        consumer.close()


def test_a_wrong_kafka_password_fails_with_an_authentication_error_in_bounded_time(
    secured: Services,
) -> None:
    right = _kafka(secured, "client")
    wrong = KafkaSecurity.model_validate({**right.model_dump(), **WRONG_PASSWORD})
    errors: list[KafkaError] = []
    producer = Producer(
        {
            "bootstrap.servers": secured.kafka,
            "error_cb": errors.append,
            "log_level": 0,  # the failure is asserted below, not printed
            **wrong.client_config(),
        }
    )
    started = time.monotonic()
    while not errors and time.monotonic() - started < AUTH_FAILURE_BOUND_S:
        producer.poll(0.1)
    assert errors, f"no error within {AUTH_FAILURE_BOUND_S:g} s"
    assert errors[0].code() == KafkaError._AUTHENTICATION, errors[0]
    assert "invalid credentials" in errors[0].str()


def test_a_plaintext_kafka_client_cannot_reach_the_secured_listener(secured: Services) -> None:
    admin = AdminClient({"bootstrap.servers": secured.kafka, "log_level": 0})
    with pytest.raises(KafkaException) as refused:
        admin.list_topics(timeout=PLAINTEXT_ATTEMPT_S)
    assert refused.value.args[0].code() == KafkaError._TRANSPORT


# ---- ZooKeeper -----------------------------------------------------------------------------


def test_a_gateway_over_tls_with_sasl_creates_and_reads_a_node(secured: Services) -> None:
    gateway = ZkGateway(secured.zookeeper, security=_zk(secured, "client"))
    gateway.start()
    try:
        path = "/" + unique_name("secure-node")
        gateway.create(path, b"written over TLS")
        data, stat = gateway.get(path)
        assert (data, stat.version) == (b"written over TLS", 0)
        gateway.delete(path)
    finally:
        gateway.stop()


def test_without_credentials_a_node_protected_by_a_sasl_acl_cannot_be_written(
    secured: Services,
) -> None:
    security = _zk(secured, "client")
    path = "/" + unique_name("protected")
    owner = ZkGateway(
        secured.zookeeper,
        security=security,
        default_acl=[security.identity_acl(), world_read_acl()],
    )
    anonymous = ZkGateway(
        secured.zookeeper, security=ZkSecurity(tls=True, ca_file=security.ca_file)
    )
    owner.start()
    anonymous.start()
    try:
        owner.create(path, b"only client writes")
        assert anonymous.get(path)[0] == b"only client writes"
        with pytest.raises(ZkNoAuthError):
            anonymous.set(path, b"defaced")
        with pytest.raises(ZkNoAuthError):
            anonymous.create(f"{path}/child")
        assert owner.get(path)[0] == b"only client writes"
        owner.delete(path)
    finally:
        anonymous.stop()
        owner.stop()


def test_a_wrong_zookeeper_password_is_refused_when_the_session_starts(secured: Services) -> None:
    right = _zk(secured, "client")
    wrong = ZkSecurity.model_validate({**right.model_dump(), **WRONG_PASSWORD})
    gateway = ZkGateway(secured.zookeeper, security=wrong)
    with pytest.raises(ZkAuthFailedError) as refused:
        gateway.start(timeout_s=ZK_CONNECT_ATTEMPT_S)
    assert str(refused.value) == (
        f"ZooKeeper at {secured.zookeeper} refused the credentials "
        "(TLS, SASL DIGEST-MD5 as 'client')"
    )
    assert "not-the-password" not in repr(refused.value)


def test_a_plaintext_zookeeper_client_cannot_connect_to_the_secure_port(
    secured: Services,
) -> None:
    gateway = ZkGateway(secured.zookeeper)
    started = time.monotonic()
    with pytest.raises(ZkUnavailableError):
        gateway.start(timeout_s=ZK_CONNECT_ATTEMPT_S)
    assert time.monotonic() - started < ZK_CONNECT_ATTEMPT_S + ZK_STOP_ALLOWANCE_S


# ---- the command line ----------------------------------------------------------------------


def _turnout(*args: str, secured: Services) -> subprocess.CompletedProcess[str]:
    assert secured.stack is not None
    settings = secured.stack.settings
    env = {
        **os.environ,
        "TURNOUT_DEV_STATE_DIR": str(settings.state_dir),
        "TURNOUT_DEV_ZOOKEEPER_PORT": str(settings.zookeeper_port),
        "TURNOUT_DEV_KAFKA_PORT": str(settings.kafka_port),
        "TURNOUT_DEV_KAFKA_CONTROLLER_PORT": str(settings.kafka_controller_port),
    }
    return subprocess.run(
        [sys.executable, "-m", "turnout", "dev", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def test_dev_status_json_says_where_the_credentials_are_and_never_what_they_are(
    secured: Services,
) -> None:
    status = _turnout("status", "--json", secured=secured)
    assert status.returncode == 0, status.stdout + status.stderr
    reported = {s["name"]: s for s in json.loads(status.stdout)}
    assert reported["zookeeper"]["healthy"] and reported["kafka"]["healthy"]
    kafka, zookeeper = reported["kafka"]["security"], reported["zookeeper"]["security"]
    assert (kafka["transport"], kafka["authentication"]) == ("SASL_SSL", "SASL SCRAM-SHA-512")
    assert (zookeeper["transport"], zookeeper["authentication"]) == ("TLS", "SASL DIGEST-MD5")
    assert kafka["client_settings"] == {k: str(v) for k, v in secured.client_settings.items()}
    for path in [kafka["ca_file"], *kafka["password_files"].values()]:
        assert Path(path).is_file(), path
    assert set(zookeeper["password_files"]) == {"admin", "client", "client-b"}
    for secret in stack_passwords(secured):
        assert secret not in status.stdout + status.stderr


def test_dev_up_on_the_secured_stack_is_idempotent_and_never_plain(secured: Services) -> None:
    again = _turnout("up", "--secure", secured=secured)
    assert again.returncode == 0, again.stderr
    assert "already up" in again.stdout
    assert "kafka is secured: SASL_SSL" in again.stdout

    plain = _turnout("up", secured=secured)
    assert plain.returncode == 1
    assert "is secured; start it with --secure" in plain.stderr.splitlines()[0]

    logs = _turnout("logs", "kafka", "-n", "5", secured=secured)
    assert logs.returncode == 0 and "==> kafka:" in logs.stdout


def test_no_password_is_on_a_command_line_of_the_stacks_processes(secured: Services) -> None:
    assert secured.stack is not None
    pids = find_ours(secured.stack.marker)
    assert len(pids) == 2, pids
    command_lines = [Path(f"/proc/{pid}/cmdline").read_bytes().decode() for pid in pids]
    for secret in stack_passwords(secured):
        assert not [line for line in command_lines if secret in line]
