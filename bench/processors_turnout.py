"""The processors benchmark's Turnout side: a deployment whose processing settings give
the guarantee and map the output, and ``turnout agent run`` (through
``processors_turnout_app``) in a process of its own."""

from __future__ import annotations

import os
import sys
from typing import Any

from bench.deployment import DEPLOYMENT, bench_deployment
from bench.processors_data import OUTPUT
from bench.processors_side import run_side
from bench.processors_watch import OutputWatcher, SideRun
from turnout.protocol.processing import ProcessingSettings

#: The processor's shapes: ``batch`` (``transform_batch``: the producer's acknowledgements
#: are waited for once per batch) or ``record`` (``transform_record``: once per record).
SHAPES = {"batch": "transform_batch", "record": "transform_record"}
#: The benchmark's guarantees, named as quixstreams names them, and as Turnout does.
GUARANTEES = {"at-least-once": "at_least_once", "exactly-once": "exactly_once"}


def processing_settings(guarantee: str, output_topic: str) -> ProcessingSettings:
    """The deployment's settings: the work manager's defaults, ``guarantee``, and the one
    output mapped to ``output_topic`` (its preview topic is never written: no colour is
    in the preview role here)."""
    return ProcessingSettings.model_validate(
        {
            "guarantee": GUARANTEES[guarantee],
            "outputs": {OUTPUT: {"live": output_topic, "preview": f"{output_topic}-preview"}},
        }
    )


def agent_command(shape: str, deployment_zookeeper: str, bootstrap: str, colour: str,
                  instance: str) -> list[str]:  # fmt: skip
    return [
        sys.executable, "-m", "bench.processors_turnout_app",
        f"bench.processors_turnout_app:{SHAPES[shape]}",
        "--deployment", DEPLOYMENT, "--colour", colour, "--instance", instance,
        "--zookeeper", deployment_zookeeper, "--kafka", bootstrap,
        "--log-level", os.environ.get("BENCH_AGENT_LOG_LEVEL", "WARNING"),
    ]  # fmt: skip


def run_turnout(
    zookeeper: str,
    bootstrap: str,
    input_topic: str,
    output_topic: str,
    records: int,
    guarantee: str,
    shape: str,
) -> SideRun:
    """One blue agent processes ``input_topic`` into ``output_topic`` (which must be
    empty) with ``guarantee`` until ``records`` outputs are readable."""
    settings = processing_settings(guarantee, output_topic)
    with bench_deployment(zookeeper, input_topic, settings) as deployment:
        command = agent_command(shape, deployment.zookeeper, bootstrap, "blue", "bench-1")
        watcher = OutputWatcher(bootstrap, output_topic, records)
        run = run_side(f"turnout ({guarantee}, {shape})", command, watcher)
    described: dict[str, Any] = {
        **run.settings,
        "shape": shape,
        "instances": 1,
        "processing": settings.model_dump(mode="json"),
    }
    return SideRun(
        run.msgs_per_s, run.steady_msgs_per_s, run.cpu_us_per_record, described, run.versions
    )
