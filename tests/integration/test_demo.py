"""The README's main job, as a user runs it: `turnout demo` brings up its own stack, the
control plane and the sample deployment; the CLI it suggests works against it (status,
switch); Ctrl-C stops everything it started, cleanly."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from tests.support.agent_kit import REPO_ROOT
from tests.support.log_secrets import WATCH
from turnout.devstack.process import free_port

#: Fetching nothing (the Maven cache is warm from the session's stack), the stack starts in
#: ~20 s and four agents own every partition a few seconds later; a loaded box is slower.
DEMO_UP_TIMEOUT_S = 240.0
#: A switch over 8 partitions takes well under a second; the CLI's own wait is bounded.
CLI_TIMEOUT_S = 90.0
#: Agents drain and commit (their bound is 30 s), then the stack stops.
DEMO_STOP_TIMEOUT_S = 120.0


def wait_for_line(process: subprocess.Popen[bytes], log: Path, marker: str) -> str:
    deadline = time.monotonic() + DEMO_UP_TIMEOUT_S
    while True:
        text = log.read_text(errors="replace")
        if marker in text:
            return text
        assert process.poll() is None, f"the demo exited with {process.returncode}:\n{text[-4000:]}"
        assert time.monotonic() < deadline, (
            f"no {marker!r} in {DEMO_UP_TIMEOUT_S} s:\n{text[-4000:]}"
        )
        time.sleep(0.5)


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "turnout", *args],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=CLI_TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 0, f"turnout {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def owners_by_colour(status: str) -> dict[str, int]:
    """Partitions per colour in the BINDING table of `turnout status`."""
    counts: dict[str, int] = {}
    for line in status.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == "live" and "/" in fields[1]:
            counts[fields[3]] = counts.get(fields[3], 0) + 1
    return counts


def test_the_demo_comes_up_switches_through_the_cli_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "TURNOUT_DEV_STATE_DIR": str(tmp_path / "state"),
        "TURNOUT_DEV_ZOOKEEPER_PORT": str(free_port()),
        "TURNOUT_DEV_KAFKA_PORT": str(free_port()),
        "TURNOUT_DEV_KAFKA_CONTROLLER_PORT": str(free_port()),
    }
    log = tmp_path / "demo.out"
    WATCH.exempt_file(log, "the demo prints its login tokens on its console, by design")
    with log.open("wb") as out:
        # A session of its own, so Ctrl-C can be sent the way a terminal sends it: to the
        # whole foreground process group (the demo and the agents it spawned).
        demo = subprocess.Popen(
            [sys.executable, "-m", "turnout", "demo", "--port", str(port)],
            env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        text = wait_for_line(demo, log, "Ctrl-C stops the demo.")
        found = re.search(r"operator token (\S+)", text)
        assert found, text
        started = {child.pid for child in psutil.Process(demo.pid).children(recursive=True)}
        assert len(started) >= 4, "expected the four agents (and the stack) as children"
        user = {**env, "TURNOUT_URL": f"http://127.0.0.1:{port}", "TURNOUT_TOKEN": found[1]}

        before = cli(user, "status", "billing")
        assert "billing: live blue" in before, before
        assert owners_by_colour(before) == {"blue": 8}, before
        shown = cli(user, "settings", "billing")
        assert re.search(r"^workers\s+4$", shown, re.MULTILINE), shown
        cli(user, "switch", "billing", "--to", "green", "--wait", "--wait-ready", "30")
        after = cli(user, "status", "billing")
        assert "billing: live green" in after, after
        assert owners_by_colour(after) == {"green": 8}, after
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10.0)
        assert page.status_code == 200 and "<html" in page.text.lower()

        os.killpg(demo.pid, signal.SIGINT)
        assert demo.wait(DEMO_STOP_TIMEOUT_S) == 0, log.read_text(errors="replace")[-4000:]
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(10)
            # The local stack's JVMs run in sessions of their own: stop them as a user would.
            subprocess.run(
                [sys.executable, "-m", "turnout", "dev", "down"],
                env=env, cwd=REPO_ROOT, capture_output=True, timeout=120, check=False,
            )  # fmt: skip
    text = log.read_text(errors="replace")
    assert "… stopping the local stack" in text, text[-4000:]
    assert "Traceback" not in text, text[-4000:]
    # Nothing it started is left running, and nothing complained on the way down (a
    # librdkafka error line means a client outlived the broker it talked to).
    left = [pid for pid in started if alive(pid)]
    assert not left, f"left running: {left}"
    for name in ("TURNOUT_DEV_ZOOKEEPER_PORT", "TURNOUT_DEV_KAFKA_PORT"):
        assert not listening(int(env[name])), f"{name} {env[name]} still listening"
    shutdown = text.split("… stopping the producer, agents and control plane", 1)[1]
    assert not re.search(r"^%[0-3]\|", shutdown, re.MULTILINE), shutdown[-4000:]
