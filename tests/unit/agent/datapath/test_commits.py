"""The commit path on a running agent: nothing committed without a valid lease, and a due
commit carries every partition's progress in one store call."""

from __future__ import annotations

from collections.abc import Mapping

from tests.support.fake_kafka import FakeSource
from tests.unit.agent.kit import FENCE_AFTER_S, TOPIC, running_agent
from turnout.agent import CommitPoint
from turnout.agent.datapath.commits import COMMIT_CHECK_S
from turnout.protocol import Role
from turnout.protocol.partitions import PartitionId

TP0, TP1, TP2 = (TOPIC, 0), (TOPIC, 1), (TOPIC, 2)


def test_commits_are_refused_without_a_valid_lease() -> None:
    rig = running_agent()
    rig.dispatcher.points[TP0] = CommitPoint(9)
    feed = rig.loop.data.feed
    feed.held[TP0].latest = CommitPoint(9)
    rig.clock.advance(FENCE_AFTER_S + 0.01)
    assert rig.loop.data.commits.commit({TP0: feed.held[TP0]}) == []
    assert rig.kafka.committed == {}  # the store was not asked
    assert rig.counter("stale_commits_refused") == 1
    assert rig.observer.commits == []


def test_a_due_commit_carries_every_partition_with_progress_in_one_request() -> None:
    commit_every = 100
    rig = running_agent(partitions=3, commit_every=commit_every)
    requests: list[set[PartitionId]] = []

    def record(source: FakeSource, offsets: Mapping[PartitionId, tuple[int, str]]) -> None:
        requests.append(set(offsets))

    rig.kafka.on_commit = record
    # TP0 reached the count; TP1 made some progress; TP2 none.
    rig.dispatcher.points.update({TP0: CommitPoint(commit_every), TP1: CommitPoint(3)})
    rig.clock.advance(2 * COMMIT_CHECK_S)
    rig.step()
    assert requests == [{TP0, TP1}]
    assert rig.observer.commits == [(TP0, commit_every), (TP1, 3)]
    rig.clock.advance(2 * COMMIT_CHECK_S)
    rig.step()  # nothing new: no request
    assert len(requests) == 1


def test_offsets_the_work_commits_itself_are_recorded_but_never_written() -> None:
    rig = running_agent(commit_every=9)
    rig.dispatcher.commits_own_offsets = True
    rig.dispatcher.points[TP0] = CommitPoint(9)
    rig.clock.advance(2 * COMMIT_CHECK_S)
    rig.step()
    assert rig.kafka.committed == {}  # an exactly-once processor's transactions wrote it
    assert rig.observer.commits == [(TP0, 9)]
    assert rig.loop.data.feed.held[TP0].committed == 9


def test_the_dispatcher_is_told_the_role_of_the_binding_held() -> None:
    rig = running_agent()
    assert rig.dispatcher.context.role() is Role.LIVE
