"""Where a side's CPU goes: cProfile in every thread of a process, for a short run.

cProfile sees only the thread that enabled it, and the agent's work is done by its
workers, fetcher and poller threads. ``profile_threads(directory)`` (called first thing
in the process) profiles every thread started afterwards and the calling one, each
written to ``directory/<thread name>-<id>.prof`` when it ends (the calling thread's at
exit). ``python -m bench.processors_profile DIR [N]`` merges them and prints the ``N``
functions with the most own time, then the most cumulative time.

Used by ``processors_turnout_app`` when ``BENCH_PROFILE_DIR`` is set.
"""

from __future__ import annotations

import atexit
import cProfile
import pstats
import sys
import threading
from pathlib import Path


def _dump(profile: cProfile.Profile, directory: Path, name: str) -> None:
    profile.disable()
    profile.dump_stats(directory / f"{name}-{threading.get_ident()}.prof")


def profile_threads(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    original_run = threading.Thread.run

    def profiled_run(thread: threading.Thread) -> None:
        profile = cProfile.Profile()
        profile.enable()
        try:
            original_run(thread)
        finally:
            _dump(profile, directory, thread.name.replace("/", "_"))

    # Every thread started from now on runs under a profile of its own.
    setattr(threading.Thread, "run", profiled_run)  # noqa: B010
    main = cProfile.Profile()
    main.enable()
    atexit.register(_dump, main, directory, "main")


def report(directory: Path, top: int) -> None:
    files = sorted(str(path) for path in directory.glob("*.prof"))
    if not files:
        raise SystemExit(f"no profiles in {directory}")
    stats = pstats.Stats(*files)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


if __name__ == "__main__":
    report(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 40)
