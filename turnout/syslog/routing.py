"""Which topic and key each record gets: a fixed string, or a template over parsed fields.

Templates use ``str.format`` names: ``syntax``, ``facility`` and ``severity`` (their
RFC 5424 names: ``local4``, ``notice``), ``host``, ``app``, ``procid``, ``msgid`` and
``listener``. A field the message lacks renders as ``unknown``. Topic names keep only the
characters Kafka allows (``[A-Za-z0-9._-]``; anything else becomes ``_``), and are cut to
Kafka's 249-character limit.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Final

from turnout.syslog import parsing
from turnout.syslog.parsing import Fields

FIELDS: Final = frozenset(
    {"syntax", "facility", "severity", "host", "app", "procid", "msgid", "listener"}
)
FACILITIES: Final = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)  # fmt: skip
SEVERITIES: Final = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
UNKNOWN: Final = "unknown"
_TOPIC_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]")
_MAX_TOPIC: Final = 249


def template_fields(template: str) -> frozenset[str]:
    """The field names ``template`` uses; raises ``ValueError`` on an unknown one."""
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    unknown = names - FIELDS
    if unknown or "" in names:
        raise ValueError(
            f"template {template!r} uses {sorted(unknown or {''})}; known: {sorted(FIELDS)}"
        )
    return frozenset(names)


def _text(value: bytes | None) -> str:
    return UNKNOWN if not value else value.decode("utf-8", "replace")


def field_values(parsed: Fields, listener: str) -> dict[str, str]:
    syntax, pri, _, host, app, procid, msgid, _, _ = parsed
    return {
        "syntax": parsing.SYNTAX_NAMES[syntax],
        "facility": FACILITIES[pri >> 3] if pri >= 0 else UNKNOWN,
        "severity": SEVERITIES[pri & 7] if pri >= 0 else UNKNOWN,
        "host": _text(host),
        "app": _text(app),
        "procid": _text(procid),
        "msgid": _text(msgid),
        "listener": listener,
    }


class Router:
    """Topic and key per record. ``fixed_topic``/``fixed_key`` are set when the template
    has no field, so the hot path can skip per-record work."""

    def __init__(self, topic: str, key: str) -> None:
        self._topic_template = topic
        self._key_template = key
        self.topic_fields = template_fields(topic)
        self.key_fields = template_fields(key)
        self.fixed_topic: str | None = None if self.topic_fields else topic
        self.fixed_key: bytes | None = key.encode() if key and not self.key_fields else None
        self.has_key = bool(key)
        self._topics: dict[str, str] = {}

    @property
    def needs_fields(self) -> bool:
        return bool(self.topic_fields or self.key_fields)

    def topic(self, values: dict[str, str]) -> str:
        rendered = self._topic_template.format(**values)
        topic = self._topics.get(rendered)
        if topic is None:
            topic = _TOPIC_UNSAFE.sub("_", rendered)[:_MAX_TOPIC] or UNKNOWN
            if topic in (".", ".."):
                topic = UNKNOWN
            self._topics[rendered] = topic
        return topic

    def key(self, values: dict[str, str]) -> bytes | None:
        if not self.has_key:
            return None
        return self._key_template.format(**values).encode()

    def route(
        self, fields: Sequence[Fields], listener: str
    ) -> tuple[list[str], list[bytes | None]]:
        """Per-record topics and keys (for templates with fields)."""
        topics: list[str] = []
        keys: list[bytes | None] = []
        for parsed in fields:
            values = field_values(parsed, listener)
            topics.append(self.fixed_topic or self.topic(values))
            keys.append(self.key(values) if self.key_fields else self.fixed_key)
        return topics, keys
