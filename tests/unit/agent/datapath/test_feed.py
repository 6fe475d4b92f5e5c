"""The record feed on a running agent: a full dispatcher stops the polls, not the fetches;
records of a partition whose gate is shut are dropped, not started."""

from __future__ import annotations

from confluent_kafka import Message

from tests.unit.agent.kit import TOPIC, running_agent


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


def test_records_fetched_after_the_gate_shut_are_dropped_not_started() -> None:
    # A release shuts the gate and leaves the fetch running until the owner node is gone:
    # what the fetch still brings must not start (the fake dispatcher fails if it does).
    rig = running_agent(partitions=1)
    feed = rig.loop.data.feed
    feed.active = frozenset()
    rig.source.fetched = [
        Message(topic=TOPIC, partition=0, offset=offset, value=b"v") for offset in (0, 1)
    ]
    feed.pump()
    assert rig.source.fetched == []  # polled
    assert rig.counter("records_dropped") == 2
