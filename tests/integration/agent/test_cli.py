"""`turnout agent run` as a user runs it: a real process until SIGTERM, exit 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import Producer

from tests.support.agent_kit import REPO_ROOT, World
from tests.support.waiting import wait_until


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "turnout", "agent", "run", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_agent_run_consumes_until_sigterm_then_releases_and_exits_zero(
    make_world: Callable[..., World], tmp_path: Path
) -> None:
    world = make_world(partitions=2)
    world.create_directive()
    records = tmp_path / "records.txt"
    process = _run(
        [
            "tests.support.agent_handlers:append_to_file",
            "--deployment",
            "dep",
            "--colour",
            "blue",
            "--instance",
            "cli-1",
            "--zookeeper",
            world.zookeeper,
            "--kafka",
            world.kafka,
            "--session-timeout",
            "4",
            "-X",
            "fetch.wait.max.ms=50",
        ],
        env={"TURNOUT_TEST_RECORDS_FILE": str(records)},
    )
    try:
        wait_until(lambda: world.all_owned({"cli-1"}), 30, "the CLI agent owns everything")
        producer = Producer({"bootstrap.servers": world.kafka})
        for i in range(20):
            producer.produce(world.topic, value=f"r{i}".encode(), partition=i % 2)
        assert producer.flush(10) == 0
        wait_until(
            lambda: records.exists() and len(records.read_text().splitlines()) == 20,
            30,
            "20 records handled",
        )
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr[-2000:]
    assert '"event":"stopped"' in stderr  # JSON-lines logs
    assert world.owners() == {}
    assert world.admin().exists(world.paths.instance("cli-1")) is None


def test_agent_run_rejects_bad_input_with_one_line_and_exit_2() -> None:
    cases = [
        ["nomodule", "--deployment", "d", "--colour", "blue", "--instance", "i"],
        ["tests.nope:handler", "--deployment", "d", "--colour", "blue", "--instance", "i"],
        ["json:dumps", "--deployment", "d", "--colour", "purple", "--instance", "i"],
        ["json:dumps", "--deployment", "d/x", "--colour", "blue", "--instance", "i"],
    ]
    for args in cases:
        process = _run(args)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 2, (args, stderr)
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("turnout agent: "), (args, stderr)
