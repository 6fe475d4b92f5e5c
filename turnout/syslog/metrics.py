"""Prometheus metrics of the syslog server, per listener (``tcp``, ``tls``, ``udp``, ``unix``).

Workers are separate processes: when the supervisor sets ``PROMETHEUS_MULTIPROC_DIR``
before spawning them, prometheus-client writes each worker's values to files there and
the supervisor's ``/metrics`` adds them up (gauges: ``livesum``, the sum over live
workers). Counters count messages (lines), never bytes, unless the name says bytes.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

RECEIVED = Counter("turnout_syslog_received", "Messages framed from a listener.", ["listener"])
PARSED = Counter("turnout_syslog_parsed", "Messages parsed as RFC 5424 or RFC 3164.", ["listener"])
MALFORMED = Counter(
    "turnout_syslog_malformed",
    "Messages that were neither RFC 5424 nor RFC 3164 (produced raw).",
    ["listener"],
)
TRUNCATED = Counter("turnout_syslog_truncated", "Messages cut to max_message bytes.", ["listener"])
FRAMING_ERRORS = Counter(
    "turnout_syslog_framing_errors",
    "Octet-counting length fields that were not a number (the stream fell back to LF).",
    ["listener"],
)
PRODUCED = Counter(
    "turnout_syslog_produced",
    "Messages handed to the Kafka producer from a listener (acknowledged or queued).",
    ["listener"],
)
SPOOLED = Counter("turnout_syslog_spooled", "Messages written to the on-disk spool.", ["listener"])
REPLAYED = Counter("turnout_syslog_replayed", "Spooled messages Kafka acknowledged after a replay.")
DROPPED = Counter(
    "turnout_syslog_dropped",
    "Messages lost, by reason: udp_overflow (the kernel's socket buffer), blocked (UDP "
    "while the spool is full), rejected (Kafka refused the record for good).",
    ["listener", "reason"],
)
QUEUE_DEPTH = Gauge(
    "turnout_syslog_queue_depth",
    "Messages waiting: in memory (the Kafka producer's queue) or in the spool.",
    ["queue"],
    multiprocess_mode="livesum",
)
SPOOL_BYTES = Gauge(
    "turnout_syslog_spool_bytes", "Bytes in the spool.", multiprocess_mode="livesum"
)
BLOCKED = Gauge(
    "turnout_syslog_blocked",
    "1 while a worker has stopped reading its stream sockets because the spool is full.",
    multiprocess_mode="livesum",
)
CONNECTIONS = Gauge(
    "turnout_syslog_connections",
    "Open stream connections, per worker process (the pid label).",
    ["listener"],
    multiprocess_mode="liveall",
)
HANDED_OVER = Counter(
    "turnout_syslog_handed_over",
    "Connections a worker passed to a less busy one before reading from them.",
    ["listener"],
)
