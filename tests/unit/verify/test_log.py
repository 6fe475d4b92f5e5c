"""Event and producer logs: what is written is read back, merged, and torn lines are handled."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Message

from turnout.agent.records import Record
from turnout.verify import (
    Claimed,
    Committed,
    EventLog,
    Fenced,
    Processed,
    Produced,
    ProducedLog,
    Released,
    check,
    make_verifying_handler,
    read_events,
    read_history,
)

THREADS = 4
RECORDS_PER_THREAD = 250


def _record(offset: int, *, partition: int = 0, key: bytes | None = b"k") -> Record:
    return Record(
        topic="t",
        partition=partition,
        offset=offset,
        key=key,
        value=f"id-{partition}-{offset}".encode(),
        headers=(),
        timestamp_ms=0,
        epoch=7,
    )


def test_every_event_kind_round_trips_with_identity_and_times(tmp_path: Path) -> None:
    with EventLog.in_directory(tmp_path) as log:
        events = log.bind("a", "blue")
        events.claimed("g", "t", 0, 7, 0)
        events.processed(_record(0, key=None), 11, 22)
        events.committed("g", "t", 0, 1, 7)
        events.released("g", "t", 0, 7, 1)
        events.fenced("suspended for 3.1 s")
    read = read_events(tmp_path)
    assert [type(e) for e in read] == [Claimed, Processed, Committed, Released, Fenced]
    processed = read[1]
    assert isinstance(processed, Processed)
    assert (processed.key, processed.value, processed.epoch) == (None, "id-0-0", 7)
    assert (processed.start_ns, processed.end_ns) == (11, 22)
    assert all(e.instance == "a" and e.colour == "blue" for e in read)
    assert [e.mono_ns for e in read] == sorted(e.mono_ns for e in read)
    assert isinstance(read[3], Released) and read[3].committed_offset == 1


def test_reader_merges_process_files_in_monotonic_order(tmp_path: Path) -> None:
    first = EventLog(tmp_path / "events-1.jsonl").bind("a", "blue")
    second = EventLog(tmp_path / "events-2.jsonl").bind("b", "green")
    second.fenced("one")
    first.fenced("two")
    second.fenced("three")
    assert [e.reason for e in read_events(tmp_path) if isinstance(e, Fenced)] == [
        "one",
        "two",
        "three",
    ]


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.jsonl")

    def write(partition: int) -> None:
        events = log.bind(f"i{partition}", "blue")
        for offset in range(RECORDS_PER_THREAD):
            events.processed(_record(offset, partition=partition), 0, 1)

    threads = [threading.Thread(target=write, args=(p,)) for p in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    assert len(read_events(tmp_path)) == THREADS * RECORDS_PER_THREAD


def test_torn_last_line_of_a_killed_process_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        log.bind("a", "blue").fenced("whole")
    with path.open("a") as handle:
        handle.write('{"event":"fenced","instance":"a"')
    assert len(read_events(path)) == 1


def test_malformed_line_in_the_middle_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        log.bind("a", "blue").fenced("before")
    with path.open("a") as handle:
        handle.write('{"event":"nope"}\n')
    with EventLog(path) as log:
        log.bind("a", "blue").fenced("after")
    with pytest.raises(ValueError, match=r"events\.jsonl:2: unknown event kind 'nope'"):
        read_events(path)


def test_line_missing_fields_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"event":"fenced"}\n')
    with pytest.raises(ValueError, match=r"events\.jsonl:1: fenced event with missing fields"):
        read_events(path)


def test_writing_to_a_closed_log_fails_loudly(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.jsonl")
    log.close()
    with pytest.raises(ValueError, match="closed"):
        log.bind("a", "blue").fenced("late")


def test_producer_log_keeps_only_acknowledged_records(tmp_path: Path) -> None:
    with ProducedLog.in_directory(tmp_path) as produced:
        produced.on_delivery(None, Message(topic="t", partition=0, offset=0, key=b"k", value=b"x"))
        produced.on_delivery(
            KafkaError(KafkaError._MSG_TIMED_OUT),
            Message(topic="t", partition=0, offset=-1, key=None, value=b"y"),
        )
        produced.acked("t", 0, 1, None, "z")
    assert (produced.acked_count, produced.failed) == (2, 1)
    history = read_history(tmp_path)
    assert history.produced == [
        Produced(topic="t", partition=0, offset=0, key="k", value="x"),
        Produced(topic="t", partition=0, offset=1, key=None, value="z"),
    ]
    assert history.events == []


def test_verifying_handler_logs_its_interval_and_feeds_the_checker(tmp_path: Path) -> None:
    work_s = 0.002
    with EventLog.in_directory(tmp_path) as log, ProducedLog.in_directory(tmp_path) as produced:
        handler = make_verifying_handler(log, "a", "blue", work_s=work_s)
        for offset in range(3):
            produced.acked("t", 0, offset, "k", f"id-0-{offset}")
            handler(_record(offset))
    history = read_history(tmp_path)
    intervals = [(e.start_ns, e.end_ns) for e in history.events if isinstance(e, Processed)]
    assert len(intervals) == 3
    assert all(end - start >= work_s * 1e9 for start, end in intervals)
    assert all(end <= time.monotonic_ns() for _, end in intervals)
    assert check(history.produced, history.events, planned_only=True).ok


def test_verifying_handler_refuses_negative_work(tmp_path: Path) -> None:
    with EventLog.in_directory(tmp_path) as log, pytest.raises(ValueError, match="negative"):
        make_verifying_handler(log, "a", "blue", work_s=-1)
