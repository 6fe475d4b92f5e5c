"""A side of the processors benchmark run as a process of its own, timed from outside.

A side's process prints one JSON line ``{"event": "go", "mono_ns": ..., "settings": {...},
"versions": {...}}`` once its imports are done and right before it starts processing
(``time.monotonic_ns()``, the clock every process on the machine shares), then processes
until SIGTERM. ``run_side`` starts it, waits until the output watcher has seen every
output readable, stops it, and returns the rates.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from typing import IO, Any

import psutil

from bench.processors_watch import OutputWatcher, SideRun, side_run

#: A side's start-up (imports, joining or claiming) and a full run of a million records
#: are bounded by this; past it the run has failed.
RUN_LIMIT_S = 900.0
#: A side that has written no output this long after its start has failed (it refused its
#: settings, say): the start-up of either side takes seconds.
FIRST_OUTPUT_TIMEOUT_S = 120.0
#: How often the side's process is checked while its outputs are awaited.
CHECK_S = 0.5
#: Both sides stop gracefully on SIGTERM (committing what they processed); this long
#: after it, the process is killed.
STOP_TIMEOUT_S = 60.0


def _read_go(stdout: IO[str], process: subprocess.Popen[str], name: str) -> dict[str, Any]:
    for line in stdout:
        if line.startswith("{"):
            event: dict[str, Any] = json.loads(line)
            if event.get("event") == "go":
                return event
    process.wait(STOP_TIMEOUT_S)
    raise RuntimeError(f"{name} exited {process.returncode} before starting (see its stderr)")


def _await_outputs(name: str, process: subprocess.Popen[str], watcher: OutputWatcher) -> None:
    started = time.monotonic()
    while not watcher.done.wait(CHECK_S):
        waited = time.monotonic() - started
        if process.poll() is not None:
            problem = f"exited {process.returncode}"
        elif not watcher.seen and waited > FIRST_OUTPUT_TIMEOUT_S:
            problem = f"wrote no output within {FIRST_OUTPUT_TIMEOUT_S:.0f} s"
        elif waited > RUN_LIMIT_S:
            problem = f"did not finish within {RUN_LIMIT_S:.0f} s"
        else:
            continue
        raise RuntimeError(f"{name} {problem} ({watcher.seen} of {watcher.target} outputs)")


def run_side(
    name: str,
    command: Sequence[str],
    watcher: OutputWatcher,
    env: dict[str, str] | None = None,
) -> SideRun:
    """Run ``command`` until ``watcher`` has seen its ``target`` outputs; ``name`` says
    which side in errors."""
    watcher.start()
    environment = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    process = subprocess.Popen(list(command), stdout=subprocess.PIPE, text=True, env=environment)
    try:
        assert process.stdout is not None
        go = _read_go(process.stdout, process, name)
        _await_outputs(name, process, watcher)
        times = psutil.Process(process.pid).cpu_times()
        cpu_s = times.user + times.system
        process.send_signal(signal.SIGTERM)
        if process.wait(STOP_TIMEOUT_S):
            raise RuntimeError(f"{name} exited {process.returncode} when stopped")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        watcher.stop()
    return side_run(watcher, int(go["mono_ns"]), cpu_s, go["settings"], go["versions"])
