"""Processors benchmark: ``python -m bench.processors`` prints one JSON object.

The same input topic (``--records`` JSON records, 8 partitions), the same transform
(parse the JSON, add a field, produce with the same key to an 8-partition output topic),
the same machine and run; each side consumes every input and produces every output, in a
process of its own, from its own consumer group, into an output topic of its own:

- ``turnout_alo`` / ``turnout_eos``: ``turnout agent run`` with a processor
  (``processors_turnout_app``; ``--shape batch`` or ``record``), the deployment's
  guarantee ``at_least_once`` / ``exactly_once``, the work manager's default settings;
- ``quix_alo`` / ``quix_eos``: the same pipeline in quixstreams (``processors_quix_app``,
  in a virtual environment of its own that the benchmark makes once), its
  ``processing_guarantee`` ``at-least-once`` / ``exactly-once``, its defaults otherwise.

``*_msgs_per_s``: records over the time from the side's start (its ``go`` line, after
its imports) until the last output is readable by a ``read_committed`` reader: start-up
included. ``*_steady_msgs_per_s``: from the first output readable to the last.
``*_cpu_us_per_record``: the side's process CPU time (all threads) until its last output,
per record; ``cpu_ratio_*`` is quixstreams' over Turnout's (higher is better).
``ratio_alo`` / ``ratio_eos``: Turnout's ``*_msgs_per_s`` over quixstreams'. ``outputs``:
each run's output judged (every input's output exactly once, in per-key order).
``eos_switch``: ``--switches`` blue/green switches of Turnout processors under steady load
with ``exactly_once`` (``processors_switch``). A run that fails leaves its figure out and
says why in ``errors``; the exit code is then 1.

Services: ``--bootstrap`` (default ``TURNOUT_TEST_KAFKA`` or 127.0.0.1:9092) and
``--zookeeper`` (default ``TURNOUT_TEST_ZK`` or 127.0.0.1:2181). Topics and ZooKeeper
chroots are fresh and removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from typing import Any

from bench.deployment import bench_deployment
from bench.processors_data import PARTITIONS, create_topics, delete_topics, fill
from bench.processors_quix import run_quix
from bench.processors_switch import SWITCHES, instance_of, run_switches
from bench.processors_turnout import SHAPES, agent_command, processing_settings, run_turnout
from bench.processors_verify import judge, read_outputs
from bench.processors_watch import SideRun

RECORDS = 1_000_000
#: Each run, named ``<side>_<guarantee>``: the side, and the guarantee as quixstreams names it.
RUNS = {
    "quix_alo": ("quix", "at-least-once"),
    "turnout_alo": ("turnout", "at-least-once"),
    "quix_eos": ("quix", "exactly-once"),
    "turnout_eos": ("turnout", "exactly-once"),
}
SCENARIOS = (*RUNS, "eos_switch")


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_throughput(
    args: argparse.Namespace, name: str, input_topic: str, result: dict[str, Any]
) -> None:
    """One side's run into a fresh output topic, its figures and its judged output added
    to ``result``."""
    side, guarantee = RUNS[name]
    output_topic = f"bench-processors-{name}-{uuid.uuid4().hex[:8]}"
    create_topics(args.bootstrap, output_topic)
    try:
        run: SideRun
        if side == "quix":
            run = run_quix(args.bootstrap, input_topic, output_topic, args.records, guarantee)
        else:
            run = run_turnout(
                args.zookeeper,
                args.bootstrap,
                input_topic,
                output_topic,
                args.records,
                guarantee,
                args.shape,
            )
        report = judge(args.records, read_outputs(args.bootstrap, output_topic))
    finally:
        delete_topics(args.bootstrap, output_topic)
    result[f"{name}_msgs_per_s"] = round(run.msgs_per_s)
    result[f"{name}_steady_msgs_per_s"] = round(run.steady_msgs_per_s)
    result[f"{name}_cpu_us_per_record"] = round(run.cpu_us_per_record, 1)
    result["outputs"][name] = {
        "lost": report.lost,
        "duplicates": report.duplicates,
        "out_of_order": report.out_of_order,
        "unexpected": report.unexpected,
    }
    result["settings"].setdefault(side, {})[guarantee] = run.settings
    result["versions"][side] = run.versions


def run_eos_switch(args: argparse.Namespace) -> dict[str, Any]:
    input_topic = f"bench-processors-switch-in-{uuid.uuid4().hex[:8]}"
    output_topic = f"bench-processors-switch-out-{uuid.uuid4().hex[:8]}"
    create_topics(args.bootstrap, input_topic, output_topic)
    settings = processing_settings("exactly-once", output_topic)
    try:
        with bench_deployment(args.zookeeper, input_topic, settings) as deployment:

            def spawn(colour: str) -> subprocess.Popen[bytes]:
                command = agent_command(
                    args.shape, deployment.zookeeper, args.bootstrap, colour, instance_of(colour)
                )
                env = {**os.environ, "BENCH_PROCESSED_BY": colour, "PYTHONWARNINGS": "ignore"}
                return subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)

            return run_switches(
                args.bootstrap, deployment.zookeeper, input_topic, output_topic, spawn,
                deployment.group, args.switches,
            )  # fmt: skip
    finally:
        delete_topics(args.bootstrap, input_topic, output_topic)


def _ratios(result: dict[str, Any]) -> None:
    for short in ("alo", "eos"):
        mine = result.get(f"turnout_{short}_msgs_per_s")
        theirs = result.get(f"quix_{short}_msgs_per_s")
        if mine and theirs:
            result[f"ratio_{short}"] = round(mine / theirs, 3)
        mine = result.get(f"turnout_{short}_steady_msgs_per_s")
        theirs = result.get(f"quix_{short}_steady_msgs_per_s")
        if mine and theirs:
            result[f"steady_ratio_{short}"] = round(mine / theirs, 3)
        # In CPU time per record: theirs / mine, so that higher is better too.
        mine = result.get(f"turnout_{short}_cpu_us_per_record")
        theirs = result.get(f"quix_{short}_cpu_us_per_record")
        if mine and theirs:
            result[f"cpu_ratio_{short}"] = round(theirs / mine, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--bootstrap", default=os.environ.get("TURNOUT_TEST_KAFKA", "127.0.0.1:9092")
    )
    parser.add_argument("--zookeeper", default=os.environ.get("TURNOUT_TEST_ZK", "127.0.0.1:2181"))
    parser.add_argument("--records", type=int, default=RECORDS, help="records in the input")
    parser.add_argument("--switches", type=int, default=SWITCHES, help="switches in eos_switch")
    parser.add_argument(
        "--shape", choices=sorted(SHAPES), default="batch", help="Turnout's processor shape"
    )
    parser.add_argument(
        "--only", choices=SCENARIOS, action="append", help="run only these (repeatable)"
    )
    args = parser.parse_args(argv)
    wanted = [s for s in SCENARIOS if s in set(args.only or SCENARIOS)]
    result: dict[str, Any] = {
        "benchmark": "processors",
        "records": args.records,
        "partitions": PARTITIONS,
        "cpu_count": os.cpu_count(),
        "load_average_start": _load_average(),
        "outputs": {},
        "settings": {},
        "versions": {},
        "errors": {},
    }
    input_topic = f"bench-processors-in-{uuid.uuid4().hex[:8]}"
    throughput = [name for name in wanted if name in RUNS]
    if throughput:
        create_topics(args.bootstrap, input_topic)
        fill(args.bootstrap, input_topic, args.records)
    try:
        for name in wanted:
            try:
                if name in RUNS:
                    run_throughput(args, name, input_topic, result)
                else:
                    result["eos_switch"] = run_eos_switch(args)
            except RuntimeError as exc:
                result["errors"][name] = str(exc)
    finally:
        if throughput:
            delete_topics(args.bootstrap, input_topic)
    result["load_average_end"] = _load_average()
    _ratios(result)
    print(json.dumps(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
