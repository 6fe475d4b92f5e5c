"""The record feed on a running agent: a full dispatcher stops the polls, not the fetches."""

from __future__ import annotations

from tests.unit.agent.kit import running_agent


def test_a_full_dispatcher_stops_the_polls_without_pausing_any_fetch() -> None:
    rig = running_agent(partitions=2)
    feed, source = rig.loop.data.feed, rig.source
    polls = source.polls
    source.pauses.clear()
    rig.dispatcher.room = False
    feed.pump()
    feed.update_pauses()
    assert source.polls == polls
    assert source.pauses == [set()]  # the full dispatcher paused nothing
    rig.dispatcher.room = True
    feed.pump()
    assert source.polls == polls + 1
