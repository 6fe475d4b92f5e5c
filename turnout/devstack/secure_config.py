"""What `--secure` changes in each service's configuration and in the stack's own probes.

ZooKeeper serves only TLS, on ``secureClientPort`` (no plaintext port at all), and
authenticates clients with SASL DIGEST-MD5 against the users of its JAAS file; ``admin``
is a super user. A client without credentials can still connect over TLS: what it may
do is up to each node's ACL.

Kafka's client listener is SASL_SSL with SCRAM-SHA-512 (the users are created when the
storage is formatted, see ``turnout.devstack.security``), and it is also the
inter-broker listener, the broker authenticating as ``admin``. The controller listener
is SSL with client certificates required: only a holder of the servers' key (the broker
itself) may speak to it, so the port is no back door around SCRAM. (KRaft cannot
authenticate its controller listener with SCRAM: the credentials live in the metadata
the controller serves.)

Both configuration files hold passwords and are written with mode 0600.
"""

from __future__ import annotations

import contextlib
import socket
import ssl

from turnout.devstack.security import (
    KAFKA_SASL_MECHANISM,
    StackSecurity,
    read_secret,
)
from turnout.devstack.settings import StackSettings

_SCRAM_LOGIN_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"


def _keystore_lines(security: StackSecurity, *, zookeeper: bool) -> list[str]:
    password = read_secret(security.keystore_password_file)
    if zookeeper:
        return [
            f"ssl.keyStore.location={security.keystore}",
            f"ssl.keyStore.password={password}",
            "ssl.keyStore.type=PKCS12",
            f"ssl.trustStore.location={security.ca_file}",
            "ssl.trustStore.type=PEM",
        ]
    return [
        f"ssl.keystore.location={security.keystore}",
        f"ssl.keystore.password={password}",
        "ssl.keystore.type=PKCS12",
        f"ssl.truststore.location={security.ca_file}",
        "ssl.truststore.type=PEM",
    ]


def zookeeper_listener_lines(settings: StackSettings, security: StackSecurity) -> list[str]:
    return [
        f"secureClientPort={settings.zookeeper_port}",
        f"secureClientPortAddress={settings.host}",
        # Only the Netty connection factory speaks TLS.
        "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
        *_keystore_lines(security, zookeeper=True),
        # Clients prove who they are with SASL, not with certificates.
        "ssl.clientAuth=none",
        "authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
    ]


def zookeeper_jvm_flags(security: StackSecurity) -> list[str]:
    return [
        f"-Djava.security.auth.login.config={security.zookeeper_jaas_file}",
        f"-Dzookeeper.superUser={security.admin.name}",
    ]


def kafka_listener_lines(settings: StackSettings, security: StackSecurity) -> list[str]:
    host = settings.host
    admin_password = read_secret(security.admin.kafka_password_file)
    return [
        f"listeners=SASL_SSL://{host}:{settings.kafka_port},"
        f"CONTROLLER://{host}:{settings.kafka_controller_port}",
        f"advertised.listeners=SASL_SSL://{host}:{settings.kafka_port}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL",
        "inter.broker.listener.name=SASL_SSL",
        f"sasl.enabled.mechanisms={KAFKA_SASL_MECHANISM}",
        f"sasl.mechanism.inter.broker.protocol={KAFKA_SASL_MECHANISM}",
        f"listener.name.sasl_ssl.{KAFKA_SASL_MECHANISM.lower()}.sasl.jaas.config="
        f'{_SCRAM_LOGIN_MODULE} required username="{security.admin.name}" '
        f'password="{admin_password}";',
        *_keystore_lines(security, zookeeper=False),
        "listener.name.controller.ssl.client.auth=required",
    ]


def tls_client_context(security: StackSecurity) -> ssl.SSLContext:
    """A client context that trusts only the stack's authority and checks host names."""
    return ssl.create_default_context(cafile=str(security.ca_file))


def tls_four_letter_word(
    host: str, port: int, word: str, security: StackSecurity, timeout_s: float = 2.0
) -> str:
    """A ZooKeeper four-letter command over TLS ("" if no answer, or the handshake failed)."""
    context = tls_client_context(security)
    chunks = []
    with (
        contextlib.suppress(OSError),  # ssl.SSLError is one: no answer
        socket.create_connection((host, port), timeout=timeout_s) as raw,
        context.wrap_socket(raw, server_hostname=host) as conn,
    ):
        conn.sendall(word.encode())
        while chunk := conn.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")
