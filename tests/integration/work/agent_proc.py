"""The work tests' agent process: ``tests.support.agent_process`` with their settings.

    python -m tests.integration.work.agent_proc --zookeeper Z --kafka K --instance I \
        --processed FILE [--hang 3,7]

The work manager in ``unordered`` mode (every other record finishes past a hung one),
and a commit every 0.2 s so the test sees the gap quickly.
"""

from __future__ import annotations

import sys

from tests.support.agent_kit import DEPLOYMENT, FENCE_MARGIN_S, SESSION_TIMEOUT_S
from tests.support.agent_process import main

WORK_TEST_OPTIONS = [
    "--deployment", DEPLOYMENT,
    "--colour", "blue",
    "--session-timeout", str(SESSION_TIMEOUT_S),
    "--fence-margin", str(FENCE_MARGIN_S),
    "--commit-interval", "0.2",
    "--ordering", "unordered",
    "--workers", "4",
]  # fmt: skip

if __name__ == "__main__":
    sys.exit(main([*WORK_TEST_OPTIONS, *sys.argv[1:]]))
