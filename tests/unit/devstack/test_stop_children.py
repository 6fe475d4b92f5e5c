"""stop_children: children stop on SIGTERM, or are killed past the grace period."""

from __future__ import annotations

import subprocess
import sys
import time

from turnout.devstack.process import stop_children


def test_children_stop_gracefully_or_are_killed_after_the_grace_period() -> None:
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stubborn = subprocess.Popen(
        [
            sys.executable, "-c",
            "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert stubborn.stdout is not None and stubborn.stdout.readline() == b"ready\n"
    started = time.monotonic()
    stop_children([polite, stubborn], timeout_s=0.5)
    assert polite.returncode == -15  # SIGTERM
    assert stubborn.returncode == -9  # ignored SIGTERM, so SIGKILLed
    assert time.monotonic() - started < 10
    stubborn.stdout.close()
