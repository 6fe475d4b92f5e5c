"""Log redaction: secrets never reach a log line, whatever code logged them.

The control plane does not log credentials on purpose; these filters are the safety net
for the line that does by accident (an exception message quoting a connection string, a
library echoing its configuration). :func:`redact` is pure: it replaces what looks like
a secret by ``[redacted]`` and keeps what tells a reader which secret it was (the token
prefix, the user name of a digest or a URL).

Shapes recognised:

- API tokens (``tnt_…``) and stream tickets (``tst_…``), by their prefix;
- ``Authorization: Bearer …`` / ``Basic …`` values;
- credentials in URL query strings (``access_token=``, ``token=``, ``ticket=``,
  ``password=``, ``secret=``) and the password of ``scheme://user:password@host``;
- ZooKeeper digest identities (``digest:user:secret``, ``zookeeper_digest=user:secret``,
  ``('digest', 'user:secret')``);
- values of password-like keys in ``key=value``, ``key: value``, ``"key": "value"`` and
  JAAS ``password="…"`` forms (SASL/SCRAM passwords, key-store passwords, secrets).
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

#: (pattern, replacement) pairs, applied in order.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(tnt|tst)_[A-Za-z0-9_-]+"), rf"\1_{REDACTED}"),
    # A credential, not an ordinary word ("the bearer token"): 8+ characters, one of
    # them a digit or symbol.
    (
        re.compile(
            r"(?i)\b(bearer|basic)(\s+)(?=[A-Za-z0-9._~+/=-]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,}"
        ),
        rf"\1\2{REDACTED}",
    ),
    (
        re.compile(r"(?i)([?&](?:access_token|token|ticket|password|secret)=)[^&\s\"'#]+"),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]+:)[^@\s/]+@"), rf"\1{REDACTED}@"),
    (
        re.compile(r"(?i)(digest['\"]?\s*[:=,]\s*['\"]?[^:\s'\",]+:)[^\s'\",;)\]}]+"),
        rf"\1{REDACTED}",
    ),
    (
        re.compile(
            r"(?i)((?:password|passwd|secret)['\"]?\s*[:=]\s*)"
            r"(\"[^\"]*\"|'[^']*'|[^\s,;}&\]]+)"
        ),
        rf"\1{REDACTED}",
    ),
)


def redact(text: str) -> str:
    """``text`` with every secret-shaped part replaced by ``[redacted]``."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and its exception text) redacted; never drops one.

    Attach it to handlers, not loggers: a logger's filters do not see records that
    propagate to it from child loggers, a handler's see every record it writes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # Redact the arguments one by one first: formatters such as uvicorn's access
        # formatter read record.args, so it must stay a tuple of the same shape.
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:  # in the message itself, or split between it and an argument
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


#: The event stream's path: its query string carries a stream ticket.
_STREAM_PATH = re.compile(r"/deployments/[^/?]+/events\?")


class StreamQueryFilter(logging.Filter):
    """Drops the query string of the event stream's requests from uvicorn's access log.

    uvicorn logs ``'%s - "%s %s HTTP/%s" %d'`` with the path and query as the third
    argument; a spent ticket is harmless, but a log line is no place for a credential.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2]
            found = _STREAM_PATH.search(path)
            if found is not None:
                record.args = (*args[:2], path[: found.end() - 1], *args[3:])
        return True
