"""The throughput benchmark's ``cli_agent`` consumer: ``turnout agent run`` in a process of
its own, its work manager driven by the deployment's processing settings."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import urllib.request

from bench.completion import Completion
from bench.deployment import DEPLOYMENT, bench_deployment
from bench.throughput_setup import DEPLOYMENT_SETTINGS, RUN_LIMIT_S
from turnout.agent import batch_handler

#: The CLI agent's count is an HTTP scrape of another process, which costs that process
#: a collection each time: read every 5 ms near the start and the end (a resolution of
#: 0.2% of a run of a few seconds), every 0.1 s in between.
CLI_POLL_S = 0.005
CLI_POLL_COARSE_S = 0.1
#: The agent's count of handled records: the sequential dispatcher's and every work
#: manager's (``turnout_work_processed_total`` counts the managers' again, per topic).
_PROCESSED = "turnout_agent_records_processed_total{"


@batch_handler
def no_op_batch(_records: object) -> None:
    """A no-op marked as a batch handler, for ``turnout agent run``."""
    return None


def no_op(_record: object) -> None:
    """A no-op per record, for ``turnout agent run``."""
    return None


def run_cli_agent(zookeeper: str, bootstrap: str, topic: str, records: int, shape: str) -> float:
    """``turnout agent run`` in a process of its own, its work manager driven by the
    deployment's settings (``DEPLOYMENT_SETTINGS``, the same as ``WORK``); completions are
    read from its metrics endpoint, finely near the start and the end (``Completion``)."""
    handler = "bench.cli_agent:" + ("no_op" if shape == "message" else "no_op_batch")
    port = _free_port()
    with bench_deployment(zookeeper, topic, DEPLOYMENT_SETTINGS) as deployment:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "turnout", "agent", "run", handler,
                "--deployment", DEPLOYMENT, "--colour", "blue", "--instance", "bench-cli",
                "--zookeeper", deployment.zookeeper, "--kafka", bootstrap,
                "--metrics-port", str(port), "--log-level", "WARNING",
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        completion = Completion(
            records, lambda: _scraped_processed(port), CLI_POLL_S, CLI_POLL_COARSE_S
        )
        completion.start()
        try:
            if not completion.done.wait(RUN_LIMIT_S):
                raise RuntimeError(f"the CLI agent handled {completion.seen} of {records}")
        finally:
            completion.stop()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
    return completion.rate()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _scraped_processed(port: int) -> int:
    """Records handled (``processed_in`` the agent's metrics page); 0 while nothing
    answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as page:
            text = page.read().decode()
    except OSError:
        return 0
    return processed_in(text)


def processed_in(metrics_page: str) -> int:
    """Records handled, from an agent's Prometheus page: its
    ``turnout_agent_records_processed_total``, which holds what the sequential dispatcher
    ran before the deployment's settings applied and what every work manager ran since."""
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics_page.splitlines()
            if line.startswith(_PROCESSED)
        )
    )
