"""The log-grep check's reader: what it finds, where it says it found it, what it skips."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.log_secrets import SecretWatch
from turnout.controlplane.security import new_token
from turnout.controlplane.stream_tickets import StreamTickets


@pytest.fixture
def outside() -> Iterator[Path]:
    """A directory outside the session's temp tree: the files here hold tokens on
    purpose, and the session's own log-grep check must not read them."""
    with tempfile.TemporaryDirectory(prefix="log-secrets-") as directory:
        yield Path(directory)


def test_a_token_or_ticket_is_found_by_its_shape_with_file_and_line(outside: Path) -> None:
    watch = SecretWatch()
    ticket = StreamTickets[str]().issue("alice", "billing").ticket
    log = outside / "controlplane.out"
    log.write_text(f"started\nGET /x?access_token={new_token()} 200\nticket {ticket}\n")
    found = watch.scan_file(log)
    assert [str(f) for f in found] == [
        f"{log}:2: an API token",
        f"{log}:3: a stream ticket",
    ]


def test_a_recorded_secret_without_a_shape_is_found() -> None:
    watch = SecretWatch()
    watch.record("zk-digest-password")
    watch.record("short")  # too short to tell from an ordinary word: not recorded
    found = watch.scan_text("stderr", "auth failed for cp:zk-digest-password\nshort\n")
    assert [str(f) for f in found] == ["stderr:1: a recorded secret"]
    assert watch.recorded == 1


def test_only_log_files_are_read(outside: Path) -> None:
    watch = SecretWatch()
    token = new_token()
    (outside / "agents").mkdir()
    (outside / "agents" / "blue-0.log").write_text(token)
    (outside / "controlplane.db").write_text(token)  # a database, not a log
    found = watch.scan_logs_under(outside)
    assert [f.source for f in found] == [str(outside / "agents" / "blue-0.log")]


def test_redacted_lines_pass() -> None:
    watch = SecretWatch()
    assert watch.scan_text("stdout", "GET /x?access_token=tnt_[redacted] 401") == []


def test_an_exempted_file_is_left_out_of_the_scan(outside: Path) -> None:
    watch = SecretWatch()
    console = outside / "demo.out"
    console.write_text(f"operator token {new_token()}\n")
    watch.exempt_file(console, "the demo prints its login tokens by design")
    assert watch.scan_logs_under(outside) == []
