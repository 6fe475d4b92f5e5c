"""RFC 5424 (the RFC's own examples), RFC 3164 as senders write it, and malformed input."""

from __future__ import annotations

import pytest

from turnout.syslog.parsing import RAW, RFC3164, RFC5424, parse

BOM = b"\xef\xbb\xbf"


def test_rfc5424_example_1_without_structured_data() -> None:
    line = b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - " + BOM
    line += b"'su root' failed for lonvick on /dev/pts/8"
    assert parse(line) == (
        RFC5424, 34, b"2003-10-11T22:14:15.003Z", b"mymachine.example.com", b"su", None,
        b"ID47", None, BOM + b"'su root' failed for lonvick on /dev/pts/8",
    )  # fmt: skip


def test_rfc5424_example_2_with_a_zone_offset_and_no_msgid() -> None:
    line = b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time"
    syntax, pri, stamp, host, app, procid, msgid, sd, msg = parse(line)
    assert (syntax, pri, stamp) == (RFC5424, 165, b"2003-08-24T05:14:15.000003-07:00")
    assert (host, app, procid, msgid, sd, msg) == (
        b"192.0.2.1", b"myproc", b"8710", None, None, b"%% It's time",
    )  # fmt: skip


def test_rfc5424_example_3_structured_data_and_a_message() -> None:
    sd = b'[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]'
    line = b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 " + sd
    fields = parse(line + b" " + BOM + b"An application event log entry...")
    assert fields[0] == RFC5424
    assert fields[7] == sd
    assert fields[8] == BOM + b"An application event log entry..."


def test_rfc5424_example_4_two_sd_elements_and_no_message() -> None:
    sd = (
        b'[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]'
        b'[examplePriority@32473 class="high"]'
    )
    fields = parse(b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 " + sd)
    assert (fields[0], fields[7], fields[8]) == (RFC5424, sd, b"")


def test_escaped_quote_backslash_and_bracket_inside_sd_values() -> None:
    sd = rb'[id@1 a="say \"hi\"" b="C:\\dir" c="x\]y"]'
    fields = parse(b"<13>1 - - - - - " + sd + b" message")
    assert (fields[0], fields[7], fields[8]) == (RFC5424, sd, b"message")


def test_all_nil_header_fields_are_none() -> None:
    assert parse(b"<13>1 - - - - - -") == (RFC5424, 13, None, None, None, None, None, None, b"")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed",
         (RFC3164, 34, b"Oct 11 22:14:15", b"mymachine", b"su", None, None, None,
          b"'su root' failed")),
        (b"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
         (RFC3164, 13, b"Feb  5 17:32:18", b"10.0.0.99", None, None, None, None,
          b"Use the BFG!")),
        (b"<86>Dec  6 10:00:01 sshd[4211]: Accepted publickey",
         (RFC3164, 86, b"Dec  6 10:00:01", None, b"sshd", b"4211", None, None,
          b"Accepted publickey")),
        (b"<30>2026-12-06T10:00:01.123456+01:00 web01 nginx[77]: GET /",
         (RFC3164, 30, b"2026-12-06T10:00:01.123456+01:00", b"web01", b"nginx", b"77", None,
          None, b"GET /")),
        (b"<0>Jan  1 00:00:00 host kernel: panic",
         (RFC3164, 0, b"Jan  1 00:00:00", b"host", b"kernel", None, None, None, b"panic")),
    ],
)  # fmt: skip
def test_rfc3164_variants(line: bytes, expected: tuple[object, ...]) -> None:
    assert parse(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"no priority at all",
        b"<192>1 2003-10-11T22:14:15Z h a p m - pri above 191",
        b"<013>1 2003-10-11T22:14:15Z h a p m - leading zero",
        b"<13>1 2003-10-11 22:14:15 h a p m - timestamp with a space",
        b"<13>1 2003-10-11T22:14:15 h a p m - timestamp without a zone",
        b"<13>1 - h a p m [unterminated sd",
        b'<13>1 - h a p m [id@1 a="x"]no-space-after-sd',
        b"<13>1 - h a p m x not sd",
        b"<13>just a priority and text",
        b"<13>Oct 11 22:14 short time",
        b"<>1 - - - - - -",
        b"\x00\xff\xfe binary",
    ],
)
def test_malformed_input_comes_back_raw_and_whole(line: bytes) -> None:
    fields = parse(line)
    assert fields[0] == RAW
    assert fields[8] == line
