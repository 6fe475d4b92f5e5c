"""What the gateway does without a ZooKeeper to talk to: it fails at once or within its
bounds, with its own errors, and a gateway bound to a session sends no write on another.

What needs a server (errors of real requests, watches, sessions, compare-and-set) is in
tests/integration/zk/test_gateway.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from kazoo.protocol.states import EventType, KazooState

from turnout.devstack.process import free_port
from turnout.zk import (
    ConnectionState,
    CreateOp,
    WatchKind,
    ZkError,
    ZkGateway,
    ZkUnavailableError,
    open_acl,
)

#: start()'s bound in these tests; the connect attempts to a closed port fail at once.
CONNECT_TIMEOUT_S = 0.5
#: What start() may take beyond its bound: stopping the client it gave up on.
STOP_ALLOWANCE_S = 5.0


@pytest.fixture
def unreachable() -> str:
    """A loopback address nothing listens on."""
    return f"127.0.0.1:{free_port()}"


@pytest.fixture
def gateway(unreachable: str) -> Iterator[ZkGateway]:
    never_started = ZkGateway(unreachable)
    yield never_started
    never_started.stop()


def test_start_gives_up_within_its_bound_naming_the_address_and_the_bound(
    unreachable: str,
) -> None:
    gateway = ZkGateway(unreachable)
    started = time.monotonic()
    with pytest.raises(ZkUnavailableError) as failure:
        gateway.start(timeout_s=CONNECT_TIMEOUT_S)
    assert time.monotonic() - started < CONNECT_TIMEOUT_S + STOP_ALLOWANCE_S
    assert str(failure.value) == (
        f"could not connect to ZooKeeper at {unreachable} within {CONNECT_TIMEOUT_S:g} s"
    )


def test_before_its_first_session_a_gateway_has_no_session(gateway: ZkGateway) -> None:
    assert gateway.session_id == 0 and gateway.client_id is None
    assert not gateway.connected


REQUESTS: dict[str, Callable[[ZkGateway], object]] = {
    "get": lambda zk: zk.get("/a"),
    "exists": lambda zk: zk.exists("/a"),
    "children": lambda zk: zk.children("/a"),
    "create": lambda zk: zk.create("/a", b"x"),
    "set": lambda zk: zk.set("/a", b"x", version=0),
    "delete": lambda zk: zk.delete("/a"),
    "transaction": lambda zk: zk.transaction([CreateOp("/a")]),
}


@pytest.mark.parametrize("request_name", sorted(REQUESTS))
def test_a_request_of_a_gateway_that_is_not_started_fails_at_once_as_unavailable(
    gateway: ZkGateway, request_name: str
) -> None:
    started = time.monotonic()
    with pytest.raises(ZkUnavailableError, match="ZooKeeper unavailable"):
        REQUESTS[request_name](gateway)
    assert time.monotonic() - started < gateway.request_timeout_s


WRITES: dict[str, Callable[[ZkGateway], object]] = {
    "create": lambda zk: zk.create("/a", b"x", ephemeral=True),
    "set": lambda zk: zk.set("/a", b"x", version=3),
    "delete": lambda zk: zk.delete("/a", version=3),
    "ensure_path": lambda zk: zk.ensure_path("/a/b"),
    "set_acls": lambda zk: zk.set_acls("/a", open_acl()),
    "transaction": lambda zk: zk.transaction([CreateOp("/a")]),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_gateway_bound_to_another_session_refuses_every_write_before_sending_it(
    gateway: ZkGateway, write: str
) -> None:
    gateway.bind_session(0x5EED)
    with pytest.raises(ZkUnavailableError, match="session changed from 0x5eed; not written"):
        WRITES[write](gateway)


def test_a_bound_gateways_batched_writes_report_the_refusal_for_every_path(
    gateway: ZkGateway,
) -> None:
    gateway.bind_session(0x5EED)
    created = gateway.create_many([("/a", b""), ("/b", b"")], ephemeral=True)
    deleted = gateway.delete_many([("/a", 0), ("/b", -1)])
    for outcomes in (created, deleted):
        assert list(outcomes) == ["/a", "/b"]
        assert all(isinstance(error, ZkUnavailableError) for error in outcomes.values())


def test_unbinding_lets_writes_go_out_again(gateway: ZkGateway) -> None:
    gateway.bind_session(0x5EED)
    gateway.bind_session(None)
    with pytest.raises(ZkError) as failure:  # not started: now it fails in kazoo, unsent
        gateway.create("/a")
    assert "session changed" not in str(failure.value)


def test_every_kazoo_session_state_has_a_connection_state() -> None:
    states = [value for name, value in vars(KazooState).items() if name.isupper()]
    assert {ConnectionState(str(state)) for state in states} == set(ConnectionState)


def test_every_kazoo_watch_event_type_has_a_watch_kind() -> None:
    kinds = [value for name, value in vars(EventType).items() if name.isupper()]
    assert {WatchKind(str(kind)) for kind in kinds} == set(WatchKind)
