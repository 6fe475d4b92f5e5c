"""Structured logs: one JSON object per line, with the ``extra`` fields the agent adds
(``event``, ``instance``, ``deployment``, ``topic``, ``partition``, ``offset``, ...)."""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

#: Attributes every LogRecord has; anything else came from ``extra``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                body[key] = value if isinstance(value, int | float | str | bool) else str(value)
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, separators=(",", ":"))


def configure(level: str = "INFO", json_lines: bool = True) -> None:
    """Log to stderr: JSON lines (default) or plain text."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # kazoo logs every connection retry at WARNING; its state changes reach our log anyway.
    logging.getLogger("kazoo.client").setLevel(logging.ERROR)


class ContextLog(logging.LoggerAdapter[logging.Logger]):
    """Adds an identity (instance, deployment) to every record's ``extra``, merging with
    the call's own ``extra`` instead of replacing it (the stdlib adapter replaces)."""

    def process(self, msg: str, kwargs: MutableMapping[str, Any]) -> tuple[str, Any]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs
