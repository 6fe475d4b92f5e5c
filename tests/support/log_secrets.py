"""The log-grep check: no log a test session writes holds a secret the session used.

One :data:`WATCH` per session (``tests/conftest.py`` runs it). It knows the secrets two
ways:

- by shape: every API token is ``tnt_`` + 43 characters and every stream ticket ``tst_``
  + 43, so a token made anywhere (a ``turnout token create`` subprocess, ``POST
  /tokens``) is found without being registered;
- by value: secrets without a shape (ZooKeeper digest passwords, SCRAM passwords, key
  passwords, and every token ``make_tokens`` creates) are :meth:`SecretWatch.record`-ed
  by the code that makes them.

It reads pytest's captured output and logs of every test phase (``scan_text``), and at
session end every log file the session wrote (``scan_file``): the stacks' logs, the
control planes' access logs and subprocess output, the agents' output.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

#: API tokens and stream tickets: a prefix and 32 random bytes in URL-safe base64.
SECRET_SHAPE = re.compile(r"\b(?:tnt|tst)_[A-Za-z0-9_-]{43}")
#: Shorter values match ordinary words; every generated secret is longer.
MIN_RECORDED_LENGTH = 8
#: Files a session writes as logs (under pytest's session temp directory).
LOG_SUFFIXES = frozenset({".log", ".out", ".err", ".jsonl"})
#: Log files are read whole; a larger one is read from its start up to this size.
MAX_SCANNED_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    source: str
    line: int
    kind: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.kind}"


class SecretWatch:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recorded: set[str] = set()
        self.findings: list[Finding] = []
        self.scanned_sources = 0
        #: Where in-process control planes write their access logs (set per session).
        self.log_dir: Path | None = None
        #: Files whose purpose is to show a secret, and why (never a log of a service).
        self.exempt: dict[Path, str] = {}

    def record(self, secret: str) -> None:
        if len(secret) >= MIN_RECORDED_LENGTH:
            with self._lock:
                self._recorded.add(secret)

    def exempt_file(self, path: Path, why: str) -> None:
        """Leave ``path`` out of the file scan: a program's console output whose job is
        to hand its user a credential (the demo prints a login token), not a log."""
        with self._lock:
            self.exempt[path.resolve()] = why

    @property
    def recorded(self) -> int:
        return len(self._recorded)

    def scan_text(self, source: str, text: str) -> list[Finding]:
        with self._lock:
            recorded = tuple(self._recorded)
        found: list[Finding] = []
        for number, line in enumerate(text.splitlines(), start=1):
            shaped = SECRET_SHAPE.search(line)
            if shaped is not None:
                kind = "an API token" if shaped.group().startswith("tnt_") else "a stream ticket"
                found.append(Finding(source, number, kind))
            elif any(secret in line for secret in recorded):
                found.append(Finding(source, number, "a recorded secret"))
        with self._lock:
            self.findings.extend(found)
            self.scanned_sources += 1
        return found

    def scan_file(self, path: Path) -> list[Finding]:
        with path.open("rb") as file:
            text = file.read(MAX_SCANNED_BYTES).decode("utf-8", errors="replace")
        return self.scan_text(str(path), text)

    def scan_logs_under(self, root: Path) -> list[Finding]:
        found: list[Finding] = []
        for path in sorted(root.rglob("*")):
            if path.suffix in LOG_SUFFIXES and path.is_file() and path.resolve() not in self.exempt:
                found.extend(self.scan_file(path))
        return found


WATCH = SecretWatch()
