"""The agent's Kafka consumer shared by two threads: a worker fetching in a loop (the
work manager's fetching mode) and the agent's thread pausing, seeking, committing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from confluent_kafka import Message

from tests.support.kafka_records import produce
from tests.support.services import Services
from turnout.agent.kafka_source import KafkaSource

#: The long poll of the wake-up test's consumer: a fetch of a partition at its end
#: waits this long on the broker.
LONG_POLL_S = 1.5
#: A call of the agent's waits for at most the fetcher's current poll (5 ms here) and its
#: own round trip; generous for a shared 2-core machine.
CALL_BOUND_S = 1.0
#: How long a test waits for a partition's first records before it fails (they come in
#: milliseconds, or a second late when a broker thread was not woken).
FIRST_RECORDS_LIMIT_S = 10.0


def _first_records(source: KafkaSource, what: str) -> list[Message]:
    """Poll until records come, and return them; fails after ``FIRST_RECORDS_LIMIT_S``
    naming ``what`` was waited for."""
    started = time.monotonic()
    while not (messages := source.poll(0.005)):
        assert time.monotonic() - started < FIRST_RECORDS_LIMIT_S, f"no record {what}"
    return messages


def test_the_agents_calls_are_not_starved_by_a_worker_fetching_in_a_loop(
    services: Services, topic_factory: Callable[..., str], unique: Callable[[str], str]
) -> None:
    topic = topic_factory(2)
    produce(services.kafka, topic, 2_000, partitions=2)
    source = KafkaSource(services.kafka, unique("group"), "turns", "earliest", {})
    tps = [(topic, 0), (topic, 1)]
    source.assign([(tp, 0) for tp in tps])
    source.set_paused(set(), dict.fromkeys(tps, 0))
    # The group's coordinator answers at once from now on (a fresh one takes seconds).
    source.commit({tps[1]: (1, "")})
    stop = threading.Event()
    fetched = [0]

    def fetch_in_a_loop() -> None:
        while not stop.is_set():
            fetched[0] += len(source.poll(0.005))

    fetcher = threading.Thread(target=fetch_in_a_loop, daemon=True)
    fetcher.start()
    try:
        deadline = time.monotonic() + 30.0
        while not fetched[0]:
            assert time.monotonic() < deadline, "the fetcher got nothing"
            time.sleep(0.01)
        took: dict[str, float] = {}
        for name, call in (
            ("pause", lambda: source.pause([tps[0]])),
            ("resume and seek", lambda: source.set_paused(set(), {tps[0]: 10})),
            ("commit", lambda: source.commit({tps[1]: (7, "m")})),
            ("committed", lambda: source.committed([tps[1]])),
            ("unassign", lambda: source.unassign([tps[0]])),
        ):
            started = time.monotonic()
            call()
            took[name] = time.monotonic() - started
        assert max(took.values()) < CALL_BOUND_S, took
        assert source.committed([tps[1]]) == {tps[1]: (7, "m")}
    finally:
        stop.set()
        fetcher.join(5.0)
        source.close()


def test_the_groups_metadata_is_read_once_and_outlives_commits(
    services: Services, topic_factory: Callable[..., str], unique: Callable[[str], str]
) -> None:
    topic = topic_factory(1)
    group = unique("group")
    source = KafkaSource(services.kafka, group, "metadata", "earliest", {})
    try:
        first = source.group_metadata()
        source.commit({(topic, 0): (3, "m")})
        assert source.group_metadata() is first
        # What a transaction sends: the group's name, no member, no generation.
        assert isinstance(first, bytes) and group.encode() in first
    finally:
        source.close()


def test_a_claimed_partitions_first_records_come_at_once_after_its_resume(
    services: Services, topic_factory: Callable[..., str], unique: Callable[[str], str]
) -> None:
    # A claim assigns the partition paused, then resumes it with a seek. librdkafka's
    # broker thread, idle while everything was paused, noticed neither for up to a
    # second: the first record came 0.86 s after the resume, every time
    # (``KafkaSource._wake_fetchers``; a few milliseconds with it).
    topic = topic_factory(1)
    produce(services.kafka, topic, 5_000)
    tp = (topic, 0)
    waits: list[float] = []
    for attempt in range(3):
        source = KafkaSource(services.kafka, unique(f"group{attempt}"), "claim", "earliest", {})
        try:
            source.assign([(tp, 0)])
            time.sleep(0.2)  # the broker thread has nothing to fetch, and goes to sleep
            resumed = time.monotonic()
            source.set_paused(set(), {tp: 0})
            _first_records(source, "after the resume")
            waits.append(time.monotonic() - resumed)
        finally:
            source.close()
    assert max(waits) < 0.4, f"first records {waits} s after the resumes"


def test_a_partition_assigned_fetching_brings_its_first_records_at_once_after_an_idle_spell(
    services: Services, topic_factory: Callable[..., str], unique: Callable[[str], str]
) -> None:
    # A claim whose records may start now assigns its partitions fetching, with no resume,
    # seek or wake-up request after it: the assignment itself must wake the leader's
    # broker thread, asleep (up to a second) since its last partition went.
    topic = topic_factory(2)
    produce(services.kafka, topic, 2_000, partitions=2)
    earlier, claimed = (topic, 0), (topic, 1)
    waits: list[float] = []
    for attempt in range(3):
        source = KafkaSource(services.kafka, unique(f"group{attempt}"), "claim", "earliest", {})
        try:
            source.assign([(earlier, 0)], paused=False)
            _first_records(source, "from the leader at all")
            source.unassign([earlier])
            time.sleep(0.2)  # the broker thread has nothing to fetch, and goes to sleep
            assigned = time.monotonic()
            source.assign([(claimed, 0)], paused=False)
            assert not source.paused
            first = _first_records(source, "after the assignment")
            waits.append(time.monotonic() - assigned)
            assert {m.partition() for m in first} == {1}
        finally:
            source.close()
    assert max(waits) < 0.4, f"first records {waits} s after the assignments"


def test_a_partition_paused_when_it_was_unassigned_fetches_when_assigned_again_fetching(
    services: Services, topic_factory: Callable[..., str], unique: Callable[[str], str]
) -> None:
    # librdkafka keeps a partition's pause across an unassignment: an owner fenced (every
    # partition paused), its partitions dropped, then claimed again, never fetched them.
    topic = topic_factory(1)
    produce(services.kafka, topic, 100)
    tp = (topic, 0)
    source = KafkaSource(services.kafka, unique("group"), "again", "earliest", {})
    try:
        source.assign([(tp, 0)], paused=False)
        _first_records(source, "from the leader at all")
        source.pause([tp])
        source.unassign([tp])
        source.assign([(tp, 0)], paused=False)
        got = len(_first_records(source, "after the assignment again"))
        started = time.monotonic()
        while got < 100 and time.monotonic() - started < FIRST_RECORDS_LIMIT_S:
            got += len(source.poll(0.05))
        assert got == 100
    finally:
        source.close()


def test_a_new_client_tells_a_cluster_that_answers_from_one_that_does_not(
    services: Services, unique: Callable[[str], str]
) -> None:
    reachable = KafkaSource(services.kafka, unique("group"), "probe", "earliest", {})
    # Nothing listens on port 1 of loopback: every connection is refused.
    unreachable = KafkaSource("127.0.0.1:1", unique("group"), "probe", "earliest", {})
    try:
        assert reachable.cluster_answers()
        assert not unreachable.cluster_answers()
    finally:
        reachable.close()
        unreachable.close()


def test_resuming_a_partition_while_its_leader_is_fetching_sends_no_request_that_times_out(
    services: Services,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
    capfd: pytest.CaptureFixture[str],
) -> None:
    # librdkafka drops a connection when one of its requests times out, and a wake-up
    # request is sent with no wait at all: one sent behind a long-polling fetch timed
    # out at the broker thread's next scan (``REQTMOUT``), and the connection, the fetch
    # in flight and its records went with it. While another partition of the leader is
    # being fetched, its broker thread is awake anyway: no wake-up is needed.
    topic = topic_factory(2)
    produce(services.kafka, topic, 200, partitions=2)
    idle, resumed = (topic, 0), (topic, 1)
    # Long polls, so that a fetch of the idle partition is in flight when the other one
    # is resumed.
    source = KafkaSource(
        services.kafka,
        unique("group"),
        "wake",
        "earliest",
        {"fetch.wait.max.ms": str(int(LONG_POLL_S * 1000))},
    )
    try:
        assert source.partition_counts([topic]) == {topic: 2}  # the leaders are known
        end = source.watermarks(idle)[1]
        source.assign([(idle, end), (resumed, 0)])
        # The assignment starts a fetch before its pause lands, and so can a seek: a
        # wake-up sent while everything is paused can still queue behind such a fetch
        # (the residue docs/performance.md describes). Let it end, and resume the idle
        # partition where it was assigned, without a seek.
        time.sleep(LONG_POLL_S + 0.3)
        source.set_paused({resumed}, {})
        started = time.monotonic()
        while time.monotonic() - started < 0.5:
            assert not source.poll(0.05)  # nothing past the idle partition's end
        source.set_paused(set(), {resumed: 0})
        got = 0
        while time.monotonic() - started < 4.0:
            got += len(source.poll(0.05))
        assert got == 100
    finally:
        source.close()
    assert "REQTMOUT" not in capfd.readouterr().err
