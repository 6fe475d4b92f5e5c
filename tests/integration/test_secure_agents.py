"""Agents, the producer and the control plane on the secured stack: what each identity
may do.

- An agent whose Kafka or ZooKeeper credentials are wrong, or whose ZooKeeper user has no
  rights on its deployment's nodes, fails at start: exit code 1, one line on stderr
  saying what refused it, where, as which user and what to check, and nothing written
  (no registration, no ownership node, no commit).
- Directives are writable by the control plane only.
- With per-deployment ZooKeeper users, an agent of one deployment can read another's
  nodes but cannot create, delete or change any of them.

The control plane's side runs in process (``coordination.directives``) as the stack's
``admin``; agents are ``client`` (deployment A) and ``client-b`` (deployment B).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.agent_kit import REPO_ROOT
from tests.support.services import Services, create_topic, stack_passwords, zk_chroot
from turnout.controlplane.coordination.connections import ZkConnection
from turnout.controlplane.coordination.directives import apply_directive
from turnout.controlplane.domain.desired_state import DesiredState
from turnout.controlplane.kafka_admin import KafkaAdmin, KafkaTarget
from turnout.producer import Delivery, Producer, ProducerConfig
from turnout.protocol import AbsentPinPolicy, Binding, Colour, DeploymentPaths, Role
from turnout.protocol.kafka_security import load_kafka_security
from turnout.protocol.models import Strategy
from turnout.protocol.processing import ProcessingSettings
from turnout.zk import ZkGateway, ZkNoAuthError, load_zk_security

#: An agent that is refused answers within its checks' bounds (5 s each) plus the
#: interpreter's start on a loaded box.
REFUSED_AGENT_TIMEOUT_S = 90.0
PARTITIONS = 2
ROOT = "/turnout"


@pytest.fixture
def root(secured: Services) -> Iterator[str]:
    """A chroot of this test's own on the secured ZooKeeper (made and removed as admin)."""
    admin = load_zk_security(secured.client_settings["admin"])
    with zk_chroot(secured.zookeeper, "t-secure-agents", security=admin) as connect:
        yield connect


@pytest.fixture
def controlplane(secured: Services, root: str) -> Iterator[ZkConnection]:
    """The control plane's ZooKeeper connection, as the stack's admin."""
    connection = ZkConnection(root, security=load_zk_security(secured.client_settings["admin"]))
    connection.start()
    yield connection
    connection.stop()


@pytest.fixture
def topic(secured: Services, unique: Callable[[str], str]) -> str:
    name = unique("topic")
    admin = load_kafka_security(secured.client_settings["admin"]).client_config()
    create_topic(secured.kafka, name, PARTITIONS, client_config=admin)
    return name


def _deploy(
    connection: ZkConnection, deployment: str, group: str, topic: str, agents_user: str | None
) -> DeploymentPaths:
    paths = DeploymentPaths(ROOT, deployment)
    desired = DesiredState(
        deployment=deployment,
        live=Binding(group=group, topics=(topic,)),
        preview=None,
        roles={Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY},
        strategy=Strategy.RANGE,
        pins={},
        absent_pin_policy=AbsentPinPolicy.LEAVE_UNOWNED,
        paused=False,
        drain_timeout_ms=5000,
        processing=ProcessingSettings(),
    )
    apply_directive(
        connection, paths, desired, known_epoch=0, operation_id=None, agents_user=agents_user
    )
    return paths


def _env_file(tmp_path: Path, base: Path, **wrong: str) -> Path:
    """``base`` with the password files of ``wrong`` (``kafka``/``zookeeper``) replaced
    by files holding that (wrong) password."""
    lines = base.read_text().splitlines()
    for service, password in wrong.items():
        secret = tmp_path / f"wrong-{service}.password"
        secret.write_text(password + "\n")
        key = f"TURNOUT_{service.upper()}_PASSWORD_FILE="
        lines = [f"{key}{secret}" if line.startswith(key) else line for line in lines]
    path = tmp_path / "agent.env"
    path.write_text("\n".join(lines) + "\n")
    return path


def _run_agent(
    secured: Services, root: str, deployment: str, env_file: Path, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "turnout", "agent", "run",
        "tests.support.agent_handlers:append_to_file",
        "--deployment", deployment,
        "--colour", "blue",
        "--instance", "refused-1",
        "--zookeeper", root,
        "--kafka", secured.kafka,
        "--security-env-file", str(env_file),
    ]  # fmt: skip
    return subprocess.run(
        command,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=REFUSED_AGENT_TIMEOUT_S,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("TURNOUT_")},
            "TURNOUT_TEST_RECORDS_FILE": str(tmp_path / "records.txt"),
        },
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _assert_untouched(
    secured: Services, root: str, paths: DeploymentPaths, group: str, topic: str
) -> None:
    gateway = ZkGateway(root, security=load_zk_security(secured.client_settings["admin"]))
    gateway.start()
    try:
        assert gateway.children(paths.instances) == []
        assert gateway.children(paths.statuses) == []
        assert gateway.children(paths.owners) == []
        assert gateway.children(paths.assignments) == []
    finally:
        gateway.stop()
    admin = load_kafka_security(secured.client_settings["admin"])
    committed = KafkaAdmin().committed(
        KafkaTarget(secured.kafka, admin), group, [(topic, p) for p in range(PARTITIONS)]
    )
    assert committed == dict.fromkeys(((topic, p) for p in range(PARTITIONS)), None)


@dataclass
class StartCase:
    """One agent start on the secured stack, and what must be left untouched after it."""

    secured: Services
    root: str
    controlplane: ZkConnection
    topic: str
    group: str
    tmp_path: Path

    def deploy(self, deployment: str, agents_user: str) -> DeploymentPaths:
        return _deploy(self.controlplane, deployment, self.group, self.topic, agents_user)

    def env_file(self, user: str, **wrong: str) -> Path:
        return _env_file(self.tmp_path, self.secured.client_settings[user], **wrong)

    def refused_line(self, deployment: str, env_file: Path) -> str:
        """The one stderr line of an agent of ``deployment`` that exits 1; no secret in
        anything it printed."""
        result = _run_agent(self.secured, self.root, deployment, env_file, self.tmp_path)
        for secret in stack_passwords(self.secured):
            assert secret not in result.stderr + result.stdout
        return _one_line(result)

    def assert_untouched(self, paths: DeploymentPaths) -> None:
        _assert_untouched(self.secured, self.root, paths, self.group, self.topic)


@pytest.fixture
def start_case(
    secured: Services,
    root: str,
    controlplane: ZkConnection,
    topic: str,
    unique: Callable[[str], str],
    tmp_path: Path,
) -> StartCase:
    return StartCase(secured, root, controlplane, topic, unique("group"), tmp_path)


def test_an_agent_with_wrong_kafka_credentials_fails_at_start_and_touches_nothing(
    start_case: StartCase,
) -> None:
    paths = start_case.deploy("dep-a", agents_user="client")
    env_file = start_case.env_file("client", kafka="not-the-password")
    line = start_case.refused_line("dep-a", env_file)
    kafka = start_case.secured.kafka
    assert line.startswith(f"turnout agent: Kafka at {kafka} refused the agent"), line
    assert "SCRAM-SHA-512 as 'client'" in line
    assert "TURNOUT_KAFKA_PASSWORD_FILE" in line
    assert "not-the-password" not in line
    start_case.assert_untouched(paths)


def test_an_agent_with_a_wrong_zookeeper_password_fails_at_start_and_touches_nothing(
    start_case: StartCase,
) -> None:
    paths = start_case.deploy("dep-a", agents_user="client")
    line = start_case.refused_line("dep-a", start_case.env_file("client", zookeeper="wrong"))
    root = start_case.root
    assert line.startswith(f"turnout agent: ZooKeeper at {root} refused the credentials"), line
    assert "SASL DIGEST-MD5 as 'client'" in line
    assert "TURNOUT_ZOOKEEPER_PASSWORD_FILE" in line
    start_case.assert_untouched(paths)


def test_an_agent_without_rights_on_its_deployment_fails_at_start_and_touches_nothing(
    start_case: StartCase,
) -> None:
    paths = start_case.deploy("dep-b", agents_user="client-b")
    line = start_case.refused_line("dep-b", start_case.env_file("client"))
    root = start_case.root
    assert line.startswith(f"turnout agent: ZooKeeper at {root} does not let the agent"), line
    assert "as 'client'" in line and paths.instances in line
    start_case.assert_untouched(paths)


def _session(secured: Services, root: str, user: str) -> ZkGateway:
    gateway = ZkGateway(root, security=load_zk_security(secured.client_settings[user]))
    gateway.start()
    return gateway


def test_only_the_control_plane_can_write_a_directive(
    secured: Services, root: str, controlplane: ZkConnection, topic: str
) -> None:
    paths = _deploy(controlplane, "dep-a", "group-a", topic, agents_user="client")
    agent = _session(secured, root, "client")
    try:
        data, _ = agent.get(paths.directive)  # readable by everyone
        with pytest.raises(ZkNoAuthError):
            agent.set(paths.directive, data)
        with pytest.raises(ZkNoAuthError):
            agent.delete(paths.directive)
        with pytest.raises(ZkNoAuthError):
            agent.create(f"{paths.base}/forged", b"")
    finally:
        agent.stop()


def test_an_agent_of_one_deployment_cannot_create_delete_or_change_anothers_nodes(
    secured: Services, root: str, controlplane: ZkConnection, topic: str
) -> None:
    a = _deploy(controlplane, "dep-a", "group-a", topic, agents_user="client")
    b = _deploy(controlplane, "dep-b", "group-b", topic, agents_user="client-b")
    agent_a = _session(secured, root, "client")
    agent_b = _session(secured, root, "client-b")
    try:
        for agent, paths in ((agent_a, a), (agent_b, b)):
            agent.inherit_acl(paths.instances)
            agent.create(paths.instance("i-1"), b"{}", ephemeral=True)
        agent_b.ensure_path(f"{b.owners}/group-b/{topic}")
        agent_b.create(b.owner("group-b", topic, 0), b"{}", ephemeral=True)

        assert agent_a.get(b.instance("i-1"))[0] == b"{}"  # reading is allowed
        refused = [
            lambda: agent_a.create(b.instance("i-2"), b"{}", ephemeral=True),
            lambda: agent_a.create(b.owner("group-b", topic, 1), b"{}", ephemeral=True),
            lambda: agent_a.create(f"{b.assignments}/group-b", b"{}"),
            lambda: agent_a.set(b.instance("i-1"), b"forged"),
            lambda: agent_a.set(b.owner("group-b", topic, 0), b"forged"),
            lambda: agent_a.delete(b.instance("i-1")),
            lambda: agent_a.delete(b.owner("group-b", topic, 0)),
        ]
        for attempt in refused:
            with pytest.raises(ZkNoAuthError):
                attempt()
        agent_a.set(a.instance("i-1"), b"{}")  # its own deployment's nodes stay writable
    finally:
        agent_a.stop()
        agent_b.stop()


def test_the_producer_package_delivers_to_the_secured_kafka_with_the_env_file(
    secured: Services, topic: str
) -> None:
    config = ProducerConfig(
        bootstrap_servers=secured.kafka, security_env_file=secured.client_settings["client"]
    )
    deliveries: list[Delivery] = []
    with Producer(config) as producer:
        producer.produce(topic, b"secured", partition=0, on_delivery=deliveries.append)
        assert producer.flush(30) == 0
    assert [(d.ok, d.partition, d.offset) for d in deliveries] == [(True, 0, 0)]
