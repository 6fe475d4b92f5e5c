"""Log redaction: every secret shape the control plane may meet, and what stays readable."""

from __future__ import annotations

import logging

import pytest
from uvicorn.logging import AccessFormatter

from turnout.controlplane.log_redaction import RedactingFilter, StreamQueryFilter, redact

TOKEN = "tnt_Q2hhbmdlLW1lLXBsZWFzZS10aGlzLWlzLWEtdGVzdC10b2tlbg"
TICKET = "tst_c3RyZWFtLXRpY2tldC1mb3ItdGhlLXRlc3QtLS0tLS0tLS0tLQ"


@pytest.mark.parametrize(
    ("line", "secret", "kept"),
    [
        (f"GET /api/v1/x?access_token={TOKEN} 200", TOKEN, "access_token="),
        (f"token {TOKEN} refused", TOKEN, "tnt_[redacted]"),
        (f"GET /api/v1/deployments/d/events?ticket={TICKET}", TICKET, "ticket="),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi", "Bearer [redacted]"),
        ("postgresql+psycopg://turnout:s3cret@db:5432/t", "s3cret", "turnout:[redacted]@db"),
        ("zookeeper_digest=controlplane:zk-pass-1", "zk-pass-1", "controlplane:[redacted]"),
        ("auth digest:agent-billing:zk-pass-2 failed", "zk-pass-2", "agent-billing:[redacted]"),
        ("auth_data=[('digest', 'cp:zk-pass-3')]", "zk-pass-3", "cp:[redacted]"),
        (
            'ScramLoginModule required username="alice" password="scram-pass-4";',
            "scram-pass-4",
            'username="alice"',
        ),
        ("sasl.password=scram-pass-5, sasl.username=alice", "scram-pass-5", "sasl.username"),
        ('{"ssl_keyfile_password": "key-pass-6"}', "key-pass-6", "ssl_keyfile_password"),
        ("SCRAM-SHA-512=[password=scram-pass-7]", "scram-pass-7", "SCRAM-SHA-512=[password="),
        ("client_secret: cs-8", "cs-8", "client_secret:"),
    ],
)
def test_redact_removes_the_secret_and_keeps_what_names_it(
    line: str, secret: str, kept: str
) -> None:
    cleaned = redact(line)
    assert secret not in cleaned
    assert "[redacted]" in cleaned
    assert kept in cleaned


@pytest.mark.parametrize(
    "line",
    [
        'GET /api/v1/deployments/billing/state HTTP/1.1" 200',
        "switch 0b6f6c1e of billing: blue → green, epoch 8",
        "connected to 127.0.0.1:2181/turnout",
        "digest authentication is configured",
        "basic setup: the bearer token goes in a header",
    ],
)
def test_redact_leaves_ordinary_lines_alone(line: str) -> None:
    assert redact(line) == line


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = None if exc is None else (type(exc), exc, exc.__traceback__)
    return logging.LogRecord("t", logging.ERROR, __file__, 1, msg, args or None, exc_info)


def test_the_filter_redacts_the_formatted_message_and_the_exception() -> None:
    try:
        raise RuntimeError(f"cannot use {TOKEN}")
    except RuntimeError as exc:
        record = _record("request with %s failed", TOKEN, exc=exc)
    assert RedactingFilter().filter(record)
    line = logging.Formatter().format(record)
    assert TOKEN not in line
    assert "request with tnt_[redacted] failed" in line
    assert "RuntimeError: cannot use tnt_[redacted]" in line


def test_the_access_filter_drops_only_the_event_streams_query_string() -> None:
    stream = _record(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        f"/api/v1/deployments/billing/events?ticket={TICKET}",
        "1.1",
        200,
    )
    other = _record(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/api/v1/audit?limit=5", "1.1", 200
    )
    assert StreamQueryFilter().filter(stream) and StreamQueryFilter().filter(other)
    assert (
        stream.getMessage()
        == '127.0.0.1:5000 - "GET /api/v1/deployments/billing/events HTTP/1.1" 200'
    )
    assert other.getMessage().endswith('"GET /api/v1/audit?limit=5 HTTP/1.1" 200')


def test_an_access_record_stays_formattable_by_uvicorns_access_formatter() -> None:
    record = _record(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        f"/api/v1/whoami?access_token={TOKEN}",
        "1.1",
        200,
    )
    assert RedactingFilter().filter(record)
    line = AccessFormatter("%(levelprefix)s %(message)s", use_colors=False).format(record)
    assert line.endswith('"GET /api/v1/whoami?access_token=[redacted] HTTP/1.1" 200')


def test_a_secret_split_between_message_and_argument_is_redacted() -> None:
    record = _record("connecting with password=%s", "hunter2-secret")
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "connecting with password=[redacted]"
