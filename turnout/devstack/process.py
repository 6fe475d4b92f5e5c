"""Background JVM processes: start detached, recognise them again, stop them for good.

Every process the stack starts carries ``-Dturnout.stack=<state dir>`` on its command
line, so `down` and `status` recognise their own processes (and never a stranger that
reused a pid) by reading ``/proc/<pid>/cmdline``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

#: Kafka's controlled shutdown of a one-node KRaft cluster takes 1-5 s; ZooKeeper is
#: faster. Past this, the process is SIGKILLed: `down` must leave nothing behind.
GRACEFUL_STOP_TIMEOUT_S = 30.0
KILL_CONFIRM_TIMEOUT_S = 5.0
_POLL_INTERVAL_S = 0.1


def stack_marker(state_dir: Path) -> str:
    return f"-Dturnout.stack={state_dir.resolve()}"


#: Processes started by this Python process. Holding the Popen keeps Python from warning
#: that a child still runs when the object is collected, and lets us reap its exit.
_children: dict[int, tuple[subprocess.Popen[bytes], tuple[str, ...]]] = {}


def spawn_detached(command: Sequence[str], log_path: Path, cwd: Path) -> int:
    """Start ``command`` in its own session with output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # detached: it must outlive `turnout dev up`
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=True,
        )
    _children[process.pid] = (process, tuple(command))
    return process.pid


def _arguments(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []
    return raw.decode("utf-8", errors="replace").split("\0")


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def is_ours(pid: int, marker: str) -> bool:
    """True while ``pid`` is alive and is a process this stack started."""
    if pid in _children:
        # Our own child: ask the kernel through Popen. Just after a (v)fork+exec,
        # /proc/<pid>/cmdline can read empty for a moment, so it is no proof of death.
        child, arguments = _children[pid]
        return marker in arguments and child.poll() is None
    # Whole-argument match: the marker of /tmp/stack must not match /tmp/stack2.
    return marker in _arguments(pid) and not _is_zombie(pid)


def find_ours(marker: str) -> list[int]:
    """Every live process carrying ``marker``: the sweep that makes `down` thorough."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and is_ours(int(entry.name), marker):
            found.append(int(entry.name))
    return sorted(found)


def _reap(pid: int) -> None:
    # When the stack was started by this very process (tests), collect the exit status
    # so the pid does not linger as a zombie.
    if pid in _children and _children[pid][0].poll() is not None:
        _children.pop(pid, None)


def _wait_gone(pid: int, marker: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_ours(pid, marker):
            return True
        time.sleep(_POLL_INTERVAL_S)
    return not is_ours(pid, marker)


def stop(pid: int, marker: str, timeout_s: float = GRACEFUL_STOP_TIMEOUT_S) -> bool:
    """SIGTERM, wait, then SIGKILL. Returns True if the process had to be killed."""
    if not is_ours(pid, marker):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, marker, timeout_s):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, marker, KILL_CONFIRM_TIMEOUT_S)
    return True


def exit_code(pid: int) -> int | None:
    """The exit code of a child this process started, if it has exited."""
    return _children[pid][0].poll() if pid in _children else None


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel says is free now (tests use it to avoid fixed ports)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def stop_children(
    processes: Sequence[subprocess.Popen[bytes]], timeout_s: float = GRACEFUL_STOP_TIMEOUT_S
) -> None:
    """SIGTERM every child still running, wait up to ``timeout_s`` for each, then SIGKILL
    what is left: a caller's children never outlive it."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=KILL_CONFIRM_TIMEOUT_S)
