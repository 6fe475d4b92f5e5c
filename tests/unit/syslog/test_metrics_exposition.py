"""The server's ``/metrics`` adds up its workers' metrics files, and a file a worker is
creating at that moment (still empty) does not fail the scrape."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict, mmap_key

from turnout.syslog.supervisor import metrics_exposition


def write_counter(directory: Path, pid: int, value: float) -> None:
    values = MmapedDict(str(directory / f"counter_{pid}.db"))
    key = mmap_key("turnout_syslog_received", "turnout_syslog_received_total", ["listener"],
                   ["tcp"], "Messages received.")  # fmt: skip
    values.write_value(key, value, 0.0)
    values.close()


def test_the_workers_counters_are_added_up(tmp_path: Path) -> None:
    write_counter(tmp_path, 101, 3)
    write_counter(tmp_path, 102, 4)
    _, body = metrics_exposition(tmp_path)
    assert 'turnout_syslog_received_total{listener="tcp"} 7.0' in body.decode()


def test_a_metrics_file_being_created_is_left_to_the_next_scrape(tmp_path: Path) -> None:
    write_counter(tmp_path, 101, 3)
    (tmp_path / "gauge_livesum_102.db").touch()  # made, not yet sized
    _, body = metrics_exposition(tmp_path)
    assert 'turnout_syslog_received_total{listener="tcp"} 3.0' in body.decode()
