"""Mirror benchmark: ``python -m bench.mirror`` prints one JSON object.

The same source topic (``--records`` records of 500 bytes, 8 partitions) on the source
cluster, copied to the target cluster in the same run, one side after the other, each
into a target topic of its own:

- ``turnout``: Turnout's mirror at least once, ``--instances`` ``turnout mirror run``
  processes (``mirror_turnout``);
- ``mm2``: Kafka's MirrorMaker 2 in its dedicated mode, ``tasks.max`` equal to
  ``--instances`` (``mirror_mm2``; its settings are in ``settings.mm2``).

``*_msgs_per_s``: records over the time from the first copy readable on the target to the
last (start-up excluded; ``*_startup_s`` is the time from the launch of the side's
processes to the first copy readable, a JVM and its connector's for MirrorMaker 2);
``*_total_msgs_per_s``: from the launch to the last copy. ``ratio``: Turnout's
``msgs_per_s`` over MirrorMaker 2's. ``copies``: each target judged by record identity
(``lost``, ``duplicates``, ``unexpected``). ``turnout_eos_msgs_per_s`` and ``ratio_eos``
are named slots holding ``"not built"``: the mirror's exactly-once mode is not measured
yet. ``migration``: one cross-cluster switch of a consumer deployment under load
(``bench.mirror_migration``): ``switch_ms``, ``gap_ms_max``, ``lost``, ``duplicates``.
A side that fails says why in ``errors``, its figures are left out, and the exit code
is 1.

Services: ``--source`` and ``--target`` (the two clusters' bootstrap servers, default
``TURNOUT_TEST_KAFKA`` / ``TURNOUT_TEST_SECOND_KAFKA``) and ``--zookeeper`` (default
``TURNOUT_TEST_ZK``). Topics and ZooKeeper chroots are fresh and removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from bench.mirror_data import judge_copy, value_of
from bench.mirror_migration import run_migration
from bench.mirror_mm2 import mm2_target_topic, run_mm2
from bench.mirror_turnout import run_turnout_mirror, turnout_target_topic
from bench.processors_data import PARTITIONS, create_topics, delete_topics, fill

RECORDS = 1_000_000
#: Turnout's mirror processes, and MirrorMaker 2's ``tasks.max``.
INSTANCES = 2
NOT_BUILT = "not built"
SIDES = ("turnout", "mm2")
#: The cross-cluster switch, run after the copying sides (``--only migration``).
MIGRATION = "migration"


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _run_side(args: argparse.Namespace, side: str, topic: str, work_dir: Path,
              result: dict[str, Any]) -> None:  # fmt: skip
    if side == "turnout":
        target_topic = turnout_target_topic(topic)
        run, settings = run_turnout_mirror(
            args.zookeeper, args.source, args.target, topic, args.records, args.instances,
            work_dir,
        )  # fmt: skip
    else:
        target_topic = mm2_target_topic(topic)
        run, settings = run_mm2(
            args.source, args.target, topic, args.records, args.instances, work_dir
        )
    try:
        report = judge_copy(args.target, target_topic, args.records)
    finally:
        delete_topics(args.target, target_topic)
    result.update(run.as_json(side))
    result["copies"][side] = report.as_json()
    result["settings"][side] = settings
    if report.lost or report.unexpected:
        result["errors"][side] = f"the copy is not the source: {report.as_json()}"


def _run_migration(args: argparse.Namespace, work: Path, result: dict[str, Any]) -> None:
    try:
        migration = run_migration(args.zookeeper, args.source, args.target, work)
    except RuntimeError as exc:
        result["errors"][MIGRATION] = str(exc)
        return
    result[MIGRATION] = migration
    if migration["lost"] or migration["duplicates"] or not migration["checker_ok"]:
        result["errors"][MIGRATION] = f"the switch was not exact: {migration}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", default=os.environ.get("TURNOUT_TEST_KAFKA", "127.0.0.1:9092"))
    parser.add_argument(
        "--target", default=os.environ.get("TURNOUT_TEST_SECOND_KAFKA", "127.0.0.1:9192")
    )
    parser.add_argument("--zookeeper", default=os.environ.get("TURNOUT_TEST_ZK", "127.0.0.1:2181"))
    parser.add_argument("--records", type=int, default=RECORDS, help="records in the source")
    parser.add_argument(
        "--instances", type=int, default=INSTANCES, help="Turnout's mirrors, MM2's tasks.max"
    )
    parser.add_argument(
        "--only", choices=(*SIDES, MIGRATION), action="append", help="run only these parts"
    )
    parser.add_argument("--log-dir", type=Path, help="keep the sides' logs and MM2's files here")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {
        "benchmark": "mirror",
        "records": args.records,
        "record_bytes": len(value_of(0)),
        "partitions": PARTITIONS,
        "instances": args.instances,
        "cpu_count": os.cpu_count(),
        "load_average_start": _load_average(),
        "turnout_eos_msgs_per_s": NOT_BUILT,
        "ratio_eos": NOT_BUILT,
        "copies": {},
        "settings": {},
        "errors": {},
    }
    topic = f"bench-mirror-{uuid.uuid4().hex[:8]}"
    create_topics(args.source, topic)
    try:
        fill(args.source, topic, args.records, value_of)
        with tempfile.TemporaryDirectory(prefix="bench-mirror-") as scratch:
            work = args.log_dir or Path(scratch)
            work.mkdir(parents=True, exist_ok=True)
            for side in [s for s in SIDES if s in set(args.only or SIDES)]:
                try:
                    _run_side(args, side, topic, work, result)
                except RuntimeError as exc:
                    log = work / ("mm2.log" if side == "mm2" else "turnout-mirror-1.log")
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    result["errors"][side] = f"{exc}; its log ends: {tail}"
            if MIGRATION in set(args.only or (*SIDES, MIGRATION)):
                _run_migration(args, work, result)
    finally:
        delete_topics(args.source, topic)
    result["load_average_end"] = _load_average()
    mine, theirs = result.get("turnout_msgs_per_s"), result.get("mm2_msgs_per_s")
    if mine and theirs:
        result["ratio"] = round(mine / theirs, 3)
    print(json.dumps(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
