"""The real services the integration tests talk to, and helpers to use them.

By default the test session starts its own local stack (the same code as
`turnout dev up`) on free ports under a temporary state dir. To run against services
that are already up, set both ``TURNOUT_TEST_ZK`` (host:port) and ``TURNOUT_TEST_KAFKA``
(bootstrap servers). A missing or broken service fails the test that needs it, with the
reason: it is never skipped.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from turnout.devstack import LocalStack, StackSettings
from turnout.devstack.errors import read_log_tail
from turnout.devstack.process import free_port
from turnout.zk import ZkGateway, ZkSecurity

#: Creating a topic on a one-node KRaft cluster takes tens of milliseconds idle; a
#: loaded CI box needs more, never this much.
TOPIC_CREATE_TIMEOUT_S = 30.0


@dataclass
class Services:
    zookeeper: str
    kafka: str
    log_files: dict[str, Path] = field(default_factory=dict)
    stack: LocalStack | None = None
    #: A secured stack's users (``admin``, ``client``) → the env file of their client
    #: settings (``load_kafka_security``, ``load_zk_security``); empty for a plain stack.
    client_settings: dict[str, Path] = field(default_factory=dict)
    #: The second Kafka cluster's bootstrap (``start_private_stack(clusters=2)``).
    second_kafka: str | None = None

    def log_tails(self, lines: int = 40) -> dict[str, str]:
        return {name: read_log_tail(path, lines) for name, path in self.log_files.items()}


def services_from_environment() -> Services | None:
    zk = os.environ.get("TURNOUT_TEST_ZK")
    kafka = os.environ.get("TURNOUT_TEST_KAFKA")
    if zk is None and kafka is None:
        return None
    if not (zk and kafka):
        raise RuntimeError(
            "set both TURNOUT_TEST_ZK and TURNOUT_TEST_KAFKA to use running services, "
            "or neither to let the tests start their own"
        )
    return Services(zookeeper=zk, kafka=kafka)


def start_private_stack(state_dir: Path, *, secure: bool = False, clusters: int = 1) -> Services:
    """A stack of the session's own on free ports; ``secure`` as `turnout dev up --secure`,
    ``clusters=2`` as `turnout dev up --clusters 2`."""
    settings = StackSettings(
        state_dir=state_dir,
        zookeeper_port=free_port(),
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        secure=secure,
        clusters=clusters,
        second_kafka_port=free_port(),
        second_kafka_controller_port=free_port(),
    )
    stack = LocalStack(settings)
    stack.up()
    material = stack.security
    return Services(
        zookeeper=settings.zookeeper_connect,
        kafka=settings.kafka_bootstrap,
        log_files={name: stack.log_file(name) for name in stack.service_names()},
        stack=stack,
        client_settings={}
        if material is None
        else {identity.name: identity.env_file for identity in material.identities},
        second_kafka=settings.second_kafka_bootstrap if clusters == 2 else None,
    )


def stack_passwords(services: Services) -> list[str]:
    """Every secret of a secured stack's material: what no log or command line may hold."""
    assert services.stack is not None and services.stack.security is not None
    material = services.stack.security
    return [
        path.read_text().strip()
        for identity in material.identities
        for path in (identity.kafka_password_file, identity.zookeeper_password_file)
    ] + [material.keystore_password_file.read_text().strip()]


def unique_name(label: str) -> str:
    """A Kafka- and ZooKeeper-safe name unique to this call: ``<label>-<8 hex>``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-")[-60:] or "t"
    return f"{safe}-{uuid.uuid4().hex[:8]}"


def create_topic(
    bootstrap: str,
    name: str,
    partitions: int = 1,
    *,
    client_config: Mapping[str, str] | None = None,
) -> None:
    """``client_config``: the admin's security settings on a secured cluster."""
    admin = AdminClient({"bootstrap.servers": bootstrap, **(client_config or {})})
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1)],
        operation_timeout=TOPIC_CREATE_TIMEOUT_S,
    )
    try:
        futures[name].result(timeout=TOPIC_CREATE_TIMEOUT_S)
    except KafkaException as exc:
        raise RuntimeError(f"could not create topic {name}: {exc}") from exc


@contextmanager
def zk_chroot(zookeeper: str, label: str, *, security: ZkSecurity | None = None) -> Iterator[str]:
    """A connect string with a fresh chroot of its own (``host:port/<label>-<id>``),
    deleted with everything under it at the end (``security``: a super user's, on a
    secured ZooKeeper, so that no ACL stops the clean-up)."""
    chroot = "/" + unique_name(label)
    admin = ZkGateway(zookeeper, security=security)
    admin.start()
    admin.ensure_path(chroot)
    try:
        yield zookeeper + chroot
    finally:
        admin.delete(chroot, recursive=True)
        admin.stop()
