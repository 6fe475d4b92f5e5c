"""The one error type of the local stack: a one-line reason plus the log tail that explains it."""

from __future__ import annotations

from pathlib import Path

LOG_TAIL_LINES = 30


class StackError(Exception):
    """A local-stack operation failed.

    ``reason`` is one line a person can act on ("port 9092 is taken", "Java is not
    installed"); ``log_tail`` holds the last lines of the log that shows why, if any.
    """

    def __init__(self, reason: str, log_tail: str = "", log_path: Path | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.log_tail = log_tail
        self.log_path = log_path

    def render(self) -> str:
        text = f"error: {self.reason}"
        if self.log_path is not None:
            text += f"\n  log: {self.log_path}"
        if self.log_tail:
            indented = "\n".join(f"  | {line}" for line in self.log_tail.splitlines())
            text += f"\n  last lines of the log:\n{indented}"
        return text


def read_log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file, or "" when there is none yet."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(data.splitlines()[-lines:])
