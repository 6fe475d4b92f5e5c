"""The directive's compare-and-set, over the in-memory ZooKeeper: two writers never both
win, epochs grow by exactly one, and a lost race is a conflict the caller sees."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from tests.support.fake_zookeeper import FakeGateway, FakeZooKeeper
from turnout.protocol import Binding, Colour, DeploymentPaths, Directive, Role
from turnout.protocol.directives import DirectiveConflictError, DirectiveStore
from turnout.zk import ZkNoNodeError, ZkUnavailableError

PATHS = DeploymentPaths("/turnout", "billing")
SESSION_TIMEOUT_S = 4.0
WRITTEN_AT = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)


def first_directive(epoch: int = 1) -> Directive:
    return Directive(
        epoch=epoch,
        deployment="billing",
        live=Binding(group="billing", topics=("invoices",)),
        roles={Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY},
        written_at=WRITTEN_AT,
    )


def switched(directive: Directive) -> Directive:
    return directive.model_copy(
        update={"roles": {Colour.BLUE: Role.STANDBY, Colour.GREEN: Role.LIVE}}
    )


@pytest.fixture
def server() -> FakeZooKeeper:
    return FakeZooKeeper(lambda: 1000.0, SESSION_TIMEOUT_S)


def connected(server: FakeZooKeeper) -> FakeGateway:
    gateway = server.client()
    gateway.start()
    return gateway


@pytest.fixture
def zk(server: FakeZooKeeper) -> FakeGateway:
    return connected(server)


@pytest.fixture
def store(zk: FakeGateway) -> DirectiveStore:
    return DirectiveStore(zk, PATHS)


def test_a_deployment_without_a_directive_reads_as_none(store: DirectiveStore) -> None:
    assert store.read() is None


def test_the_first_directive_is_created_at_epoch_1_and_read_back_with_its_version(
    store: DirectiveStore, zk: FakeGateway
) -> None:
    created = store.create(first_directive())
    assert created.version == 0
    assert store.read() == created
    assert Directive.from_bytes(zk.get(PATHS.directive)[0]) == first_directive()


def test_a_first_directive_at_another_epoch_is_refused_and_nothing_is_written(
    store: DirectiveStore,
) -> None:
    with pytest.raises(ValueError, match="epoch 1"):
        store.create(first_directive(epoch=2))
    assert store.read() is None


def test_creating_a_directive_that_exists_is_a_conflict(store: DirectiveStore) -> None:
    store.create(first_directive())
    with pytest.raises(DirectiveConflictError, match="already exists"):
        store.create(switched(first_directive()))
    current = store.read()
    assert current is not None and current.directive == first_directive()


def test_a_replacement_must_be_exactly_one_epoch_newer(store: DirectiveStore) -> None:
    current = store.create(first_directive())
    for epoch in (1, 3):
        with pytest.raises(ValueError, match=f"epoch must grow by one: 1 -> {epoch}"):
            store.replace(current, switched(first_directive(epoch=epoch)))
    assert store.read() == current


def test_a_replacement_moves_the_epoch_and_the_version_on(store: DirectiveStore) -> None:
    current = store.create(first_directive())
    replaced = store.replace(current, switched(first_directive(epoch=2)))
    assert replaced.version == 1 and replaced.directive.epoch == 2
    assert store.read() == replaced


def test_of_two_writers_that_read_the_same_version_only_the_first_wins(
    server: FakeZooKeeper, store: DirectiveStore
) -> None:
    store.create(first_directive())
    other = DirectiveStore(connected(server), PATHS)
    mine, theirs = store.read(), other.read()
    assert mine is not None and theirs is not None and mine == theirs
    won = other.replace(theirs, switched(theirs.directive).model_copy(update={"epoch": 2}))
    with pytest.raises(DirectiveConflictError, match="changed since version 0"):
        store.replace(mine, mine.directive.model_copy(update={"epoch": 2, "paused": True}))
    assert store.read() == won


def test_replacing_a_directive_that_was_deleted_is_a_conflict(
    store: DirectiveStore, zk: FakeGateway
) -> None:
    current = store.create(first_directive())
    zk.delete(PATHS.directive)
    with pytest.raises(DirectiveConflictError):
        store.replace(current, switched(first_directive(epoch=2)))


def test_an_update_applies_the_change_and_bumps_the_epoch_and_the_write_time(
    store: DirectiveStore,
) -> None:
    created = store.create(first_directive())
    updated = store.update(switched)
    assert updated.directive.epoch == 2 and updated.version == 1
    assert updated.directive.live_colour is Colour.GREEN
    assert updated.directive.written_at > created.directive.written_at
    assert store.read() == updated


def test_an_update_sets_the_epoch_itself_whatever_the_change_did_to_it(
    store: DirectiveStore,
) -> None:
    store.create(first_directive())
    updated = store.update(lambda d: d.model_copy(update={"epoch": 99, "paused": True}))
    assert updated.directive.epoch == 2 and updated.directive.paused


def test_an_update_that_makes_the_directive_inconsistent_is_refused_and_not_written(
    store: DirectiveStore,
) -> None:
    created = store.create(first_directive())
    both_live = {"roles": {Colour.BLUE: Role.LIVE, Colour.GREEN: Role.LIVE}}
    with pytest.raises(ValidationError, match="exactly one colour must be live"):
        store.update(lambda d: d.model_copy(update=both_live))
    assert store.read() == created


def test_an_update_of_a_deployment_without_a_directive_says_it_does_not_exist(
    store: DirectiveStore,
) -> None:
    with pytest.raises(ZkNoNodeError, match="/turnout/deployments/billing/directive"):
        store.update(switched)


def test_an_update_that_loses_the_race_between_its_read_and_its_write_is_a_conflict(
    server: FakeZooKeeper, zk: FakeGateway, store: DirectiveStore
) -> None:
    store.create(first_directive())
    other = DirectiveStore(connected(server), PATHS)

    def pause_first() -> None:
        other.update(lambda d: d.model_copy(update={"paused": True}))

    zk.interrupt(2, pause_first)  # between the update's read and its write
    with pytest.raises(DirectiveConflictError):
        store.update(switched)
    current = store.read()
    assert current is not None
    assert current.directive.epoch == 2 and current.directive.paused
    assert current.directive.live_colour is Colour.BLUE  # the loser's change is not in it


def test_a_write_whose_reply_was_lost_is_not_reported_as_a_conflict(
    zk: FakeGateway, store: DirectiveStore
) -> None:
    # Its outcome is unknown (here it was applied): the caller must re-read, not retry blindly.
    store.create(first_directive())
    zk.interrupt(2, zk.lose_reply)
    with pytest.raises(ZkUnavailableError):
        store.update(switched)
    zk.reconnect()
    current = store.read()
    assert current is not None and current.directive.epoch == 2
