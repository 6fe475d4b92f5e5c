"""The on-disk spool: order, durability framing, torn tails, front segments, adoption."""

from __future__ import annotations

from pathlib import Path

from turnout.syslog.spool import Spool, adopt, decode, encode

RECORDS = [("t1", None, b"one"), ("t2", b"key", b"two"), ("t1", b"", b"")]


def test_records_round_trip_with_topic_key_and_value() -> None:
    assert decode(encode(RECORDS)).records == RECORDS


def test_a_torn_or_damaged_tail_is_counted_and_skipped() -> None:
    data = encode(RECORDS)
    torn = decode(data[:-2])
    assert torn.records == RECORDS[:2]
    assert torn.corrupt_bytes > 0
    damaged = bytearray(data)
    second_body = len(encode(RECORDS[:1])) + 14
    damaged[second_body + 1] ^= 0xFF
    decoded = decode(bytes(damaged))
    assert decoded.records == RECORDS[:1]
    assert decoded.corrupt_bytes == len(data) - len(encode(RECORDS[:1]))


def test_appended_records_replay_in_order_after_a_restart(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append(RECORDS[:2])
    spool.append(RECORDS[2:])
    spool.close()
    reopened = Spool(tmp_path, max_bytes=1 << 20)
    assert reopened.count_existing() == 3
    oldest = reopened.oldest_sealed()
    assert oldest is not None
    assert reopened.read(oldest) == RECORDS
    reopened.remove(oldest, 3)
    assert reopened.is_empty
    assert reopened.records == 0


def test_write_front_goes_before_everything_already_spooled(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append([("t", None, b"newer")])
    spool.seal()
    spool.write_front([("t", None, b"older")])
    first = spool.oldest_sealed()
    assert first is not None
    assert spool.read(first) == [("t", None, b"older")]


def test_full_means_at_or_over_the_bound(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append([("t", None, b"x" * (1 << 20))])
    assert spool.is_full


def test_adopting_an_orphan_spool_puts_its_segments_first_in_order(tmp_path: Path) -> None:
    orphan, own = tmp_path / "worker-3", tmp_path / "worker-1"
    for directory, values in ((orphan, [b"o1", b"o2"]), (own, [b"own"])):
        spool = Spool(directory, max_bytes=1 << 20)
        for value in values:
            spool.append([("t", None, value)])
            spool.seal()
        spool.close()
    assert adopt(orphan, own) == 2
    merged = Spool(own, max_bytes=1 << 20)
    order = []
    while (path := merged.oldest_sealed()) is not None:
        order += [value for _, _, value in merged.read(path)]
        merged.remove(path, 1)
    assert order == [b"o1", b"o2", b"own"]
