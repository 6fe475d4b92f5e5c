"""The processors benchmark's quixstreams side: its virtual environment and its process.

quixstreams pins a confluent-kafka of its own, so it runs in a virtual environment made
once with ``uv venv`` + ``uv pip install quixstreams==QUIX_VERSION`` under
``~/.cache/turnout/bench/`` (``TURNOUT_BENCH_CACHE`` overrides), and drives
``processors_quix_app.py`` there as a subprocess.

The environment's states::

    absent --ensure_quix_env()--> building --install succeeded--> ready
    building --uv failed--> absent (the directory is removed; the error says what failed)

``ready`` is marked by a file written after the install, so a half-made environment (an
interrupted install) is never taken for a ready one; a lock file serializes two
benchmarks building it at once.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.processors_data import ADDED_FIELD
from bench.processors_side import run_side
from bench.processors_watch import OutputWatcher, SideRun

QUIX_VERSION = "3.28.1"
APP = Path(__file__).with_name("processors_quix_app.py")
#: Creating the environment downloads about 30 packages from PyPI: seconds when the
#: registry answers, and a failure when it takes this long.
INSTALL_TIMEOUT_S = 300.0
READY_MARK = "turnout-bench-ready"


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "turnout" / "bench"
    return Path(os.environ.get("TURNOUT_BENCH_CACHE", default))


def _uv() -> str:
    candidates = [shutil.which("uv"), str(Path(sys.executable).with_name("uv"))]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError(
        "uv is needed to make quixstreams' environment and was not found on PATH nor next "
        f"to {sys.executable} (bash scripts/bootstrap.sh installs it in .venv)"
    )


def _run_uv(command: list[str]) -> None:
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{' '.join(command)} took over {INSTALL_TIMEOUT_S:.0f} s") from exc
    if completed.returncode:
        raise RuntimeError(
            f"making quixstreams' environment failed (is PyPI reachable?): {' '.join(command)}"
            f" exited {completed.returncode}: {completed.stderr.strip()[-2000:]}"
        )


def ensure_quix_env() -> Path:
    """The Python of quixstreams' environment, made first if it is not ready."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    env = root / f"quixstreams-{QUIX_VERSION}"
    python = env / "bin" / "python"
    with (root / f"quixstreams-{QUIX_VERSION}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (env / READY_MARK).exists():
            return python
        shutil.rmtree(env, ignore_errors=True)
        uv = _uv()
        try:
            version = f"{sys.version_info.major}.{sys.version_info.minor}"
            _run_uv([uv, "venv", "--quiet", "--python", version, str(env)])
            _run_uv(
                [uv, "pip", "install", "--quiet", "--python", str(python),
                 f"quixstreams=={QUIX_VERSION}"]
            )  # fmt: skip
        except BaseException:
            shutil.rmtree(env, ignore_errors=True)
            raise
        (env / READY_MARK).touch()
    return python


def run_quix(
    bootstrap: str, input_topic: str, output_topic: str, records: int, guarantee: str
) -> SideRun:
    """Run the pipeline in quixstreams with ``guarantee`` until ``records`` outputs are
    readable in ``output_topic`` (which must be empty)."""
    python = ensure_quix_env()
    with tempfile.TemporaryDirectory(prefix="bench-quix-") as state_dir:
        command = [
            str(python), str(APP), "--broker", bootstrap, "--input", input_topic,
            "--output", output_topic, "--group", f"quix-{output_topic}",
            "--guarantee", guarantee, "--field", ADDED_FIELD, "--state-dir", state_dir,
        ]  # fmt: skip
        watcher = OutputWatcher(bootstrap, output_topic, records)
        return run_side(f"quixstreams ({guarantee})", command, watcher)
