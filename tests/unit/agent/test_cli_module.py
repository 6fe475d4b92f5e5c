"""``turnout agent``'s module stays light: ``turnout --help`` loads it without the agent."""

from __future__ import annotations

import subprocess
import sys

from turnout.agent import cli
from turnout.agent.coordination import loop


def test_the_cli_stop_timeout_default_is_the_agents() -> None:
    assert cli.DEFAULT_STOP_TIMEOUT_S == loop.DEFAULT_STOP_TIMEOUT_S


def test_importing_the_agent_cli_loads_no_kafka_or_zookeeper_client() -> None:
    probe = (
        "import sys, turnout.agent.cli; "
        "print(sorted(m for m in ('confluent_kafka', 'kazoo') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
