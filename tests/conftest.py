"""Fixtures shared by the whole suite.

Unit tests (tests/unit) need no service and run in seconds. Integration tests
(tests/integration) are marked ``integration`` and get real ZooKeeper and Kafka from the
``services`` fixture; if the services cannot be had, they fail and say why.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator

import pytest

from tests.support.log_secrets import WATCH
from tests.support.services import (
    Services,
    create_topic,
    services_from_environment,
    start_private_stack,
    unique_name,
    zk_chroot,
)
from turnout.devstack import StackError
from turnout.devstack.process import find_ours, stack_marker
from turnout.zk import ZkGateway

_SERVICES_KEY = pytest.StashKey[Services]()
#: Findings of the log-grep check already reported by the session fixture.
_REPORTED_KEY = pytest.StashKey[int]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def services(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    """Real ZooKeeper and Kafka for the session: from the environment, or started here."""
    try:
        found = services_from_environment()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    if found is not None:
        request.config.stash[_SERVICES_KEY] = found
        yield found
        return
    state_dir = tmp_path_factory.mktemp("stack")
    try:
        started = start_private_stack(state_dir)
    except StackError as exc:
        pytest.fail(f"the local stack for the integration tests did not start:\n{exc.render()}")
    request.config.stash[_SERVICES_KEY] = started
    try:
        yield started
    finally:
        _stop_scanning_logs(started)


def _stop_scanning_logs(started: Services) -> None:
    """Stop a session's stack, its logs checked for secrets first."""
    assert started.stack is not None
    # Destroy Kafka clients that tests dropped while the broker still answers: a
    # librdkafka client collected at interpreter exit, after the broker is gone,
    # prints connection errors after pytest's closing line.
    gc.collect()
    # Read before they are purged with the stack's directory.
    for path in started.log_files.values():
        if path.is_file():
            WATCH.scan_file(path)
    started.stack.down(purge=True)


@pytest.fixture(scope="session")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """A secured stack of the session's own (`turnout dev up --secure`: Kafka on SASL_SSL,
    ZooKeeper on TLS with SASL), on free ports, started once beside the plain one."""
    state_dir = tmp_path_factory.mktemp("secure-stack")
    try:
        started = start_private_stack(state_dir, secure=True)
    except StackError as exc:
        pytest.fail(f"the secured stack did not start:\n{exc.render()}")
    assert started.stack is not None
    try:
        yield started
    finally:
        started.stack.down(purge=True)
    assert find_ours(stack_marker(state_dir)) == []


@pytest.fixture(scope="session")
def two_clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """A stack with two Kafka clusters (`turnout dev up --clusters 2`) of the session's
    own, on free ports: ``kafka`` is the first, ``second_kafka`` the second. Started only
    by the tests that ask for it, once, beside the plain stack."""
    state_dir = tmp_path_factory.mktemp("two-clusters")
    try:
        started = start_private_stack(state_dir, clusters=2)
    except StackError as exc:
        pytest.fail(f"the two-cluster stack did not start:\n{exc.render()}")
    try:
        yield started
    finally:
        _stop_scanning_logs(started)
    assert find_ours(stack_marker(state_dir)) == []


@pytest.fixture(scope="session", autouse=True)
def logs_hold_no_secret(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """The log-grep check (tests/support/log_secrets.py): at session end, every log file
    the session wrote and every test's captured output and logs are free of tokens,
    tickets and recorded secrets; otherwise the session fails naming file and line."""
    WATCH.log_dir = tmp_path_factory.mktemp("logs")
    yield
    WATCH.scan_logs_under(tmp_path_factory.getbasetemp())
    request.config.stash[_REPORTED_KEY] = len(WATCH.findings)
    if WATCH.findings:
        pytest.fail(_describe_findings(), pytrace=False)


def _describe_findings() -> str:
    return f"{len(WATCH.findings)} log lines hold a secret:\n" + "\n".join(
        f"  {finding}" for finding in WATCH.findings
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for title, text in report.sections:
        WATCH.scan_text(f"{report.nodeid} [{title}]", text)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Findings in the last test's teardown output come after the fixture's check."""
    if len(WATCH.findings) > session.config.stash.get(_REPORTED_KEY, 0):
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(_describe_findings(), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def zk_root(services: Services, request: pytest.FixtureRequest) -> Iterator[str]:
    """A connect string with a chroot of this test's own: ``host:port/t-<name>-<id>``."""
    with zk_chroot(services.zookeeper, f"t-{request.node.name}") as connect:
        yield connect


@pytest.fixture
def zk(zk_root: str) -> Iterator[ZkGateway]:
    """A started gateway inside the test's chroot."""
    gateway = ZkGateway(zk_root)
    gateway.start()
    yield gateway
    gateway.stop()


@pytest.fixture
def topic_factory(services: Services, request: pytest.FixtureRequest) -> Callable[..., str]:
    """``topic_factory(partitions=1) -> name``: creates a topic unique to this test."""

    def make(partitions: int = 1) -> str:
        name = unique_name(f"t-{request.node.name}")
        create_topic(services.kafka, name, partitions)
        return name

    return make


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``unique("group") -> "group-<test>-<id>"`` for group ids and other names."""
    return lambda label: unique_name(f"{label}-{request.node.name}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield
    if report.failed and "services" in getattr(item, "fixturenames", ()):
        found = item.config.stash.get(_SERVICES_KEY, None)
        if found is not None:
            for name, tail in found.log_tails().items():
                report.sections.append((f"{name} log (last lines)", tail or "(empty)"))
    return report
