"""Mirror benchmark: ``python -m bench.mirror`` prints one JSON object.

The same source topic (``--records`` records of 500 bytes, 8 partitions) on the source
cluster, copied to the target cluster in the same run, one side after the other, each
into a target topic of its own:

- ``turnout``: Turnout's mirror at least once, ``--instances`` ``turnout mirror run``
  processes (``mirror_turnout``);
- ``mm2``: Kafka's MirrorMaker 2 in its dedicated mode, ``tasks.max`` equal to
  ``--instances`` (``mirror_mm2``; its settings are in ``settings.mm2``);
- ``turnout_eos`` and ``mm2_eos``: the same two exactly once (Turnout's deployment with
  ``guarantee`` ``exactly_once``; MirrorMaker 2 with KIP-618's exactly-once source
  support), watched and judged as a ``read_committed`` reader sees their copies.

``*_msgs_per_s``: records over the time from the first copy readable on the target to the
last (start-up excluded; ``*_startup_s`` is the time from the launch of the side's
processes to the first copy readable, a JVM and its connector's for MirrorMaker 2);
``*_total_msgs_per_s``: from the launch to the last copy. ``ratio``: Turnout's
``msgs_per_s`` over MirrorMaker 2's, ``ratio_eos`` the same of the exactly-once sides.
``copies``: each target judged by record identity (``lost``, ``duplicates``,
``unexpected``); an exactly-once side with a duplicate fails. ``offsets_skipped``: per
exactly-once side, the target's offsets a ``read_committed`` reader skipped (transaction
markers, aborted copies): at least one per partition shows the side wrote in
transactions. ``migration``: one
cross-cluster switch of a consumer deployment under load (``bench.mirror_migration``;
alone with ``--only migration``): ``switch_ms``, ``gap_ms_max``, ``lost``,
``duplicates``. A side that fails says why in ``errors``, its figures are left out, and
the exit code is 1.

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
from bench.mirror_turnout import TURNOUT_SIDES, run_turnout_mirror, turnout_target_topic
from bench.processors_data import PARTITIONS, create_topics, delete_topics, fill

RECORDS = 1_000_000
#: Turnout's mirror processes, and MirrorMaker 2's ``tasks.max``.
INSTANCES = 2
SIDES = ("turnout", "mm2", "turnout_eos", "mm2_eos")
EXACTLY_ONCE_SIDES = frozenset({"turnout_eos", "mm2_eos"})
#: The cross-cluster switch, run after the copying sides (``--only migration``).
MIGRATION = "migration"


#: Where a side's failure is told (the first process's log).
_LOGS = {
    "turnout": "turnout-mirror-1.log",
    "turnout_eos": "turnout-eos-mirror-1.log",
    "mm2": "mm2.log",
    "mm2_eos": "mm2-eos.log",
}


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _run_side(args: argparse.Namespace, side: str, topic: str, work_dir: Path,
              result: dict[str, Any]) -> None:  # fmt: skip
    exactly_once = side in EXACTLY_ONCE_SIDES
    if side in TURNOUT_SIDES:
        target_topic = turnout_target_topic(topic, exactly_once)
        run, settings = run_turnout_mirror(
            args.zookeeper, args.source, args.target, topic, args.records, args.instances,
            work_dir, exactly_once,
        )  # fmt: skip
    else:
        target_topic = mm2_target_topic(topic, exactly_once)
        run, settings = run_mm2(
            args.source, args.target, topic, args.records, args.instances, work_dir,
            exactly_once,
        )  # fmt: skip
    try:
        report = judge_copy(args.target, target_topic, args.records, exactly_once)
    finally:
        delete_topics(args.target, target_topic)
    result.update(run.as_json(side))
    result["copies"][side] = report.as_json()
    if exactly_once:
        result["offsets_skipped"][side] = report.offsets_skipped
    result["settings"][side] = settings
    if report.lost or report.unexpected or (exactly_once and report.duplicates):
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
        "copies": {},
        "offsets_skipped": {},
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
                _settle_disk()
                try:
                    _run_side(args, side, topic, work, result)
                except RuntimeError as exc:
                    log = work / _LOGS[side]
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    result["errors"][side] = f"{exc}; its log ends: {tail}"
            if MIGRATION in set(args.only or (*SIDES, MIGRATION)):
                _settle_disk()
                _run_migration(args, work, result)
    finally:
        delete_topics(args.source, topic)
    result["load_average_end"] = _load_average()
    for ratio, mine, theirs in (
        ("ratio", "turnout", "mm2"),
        ("ratio_eos", "turnout_eos", "mm2_eos"),
    ):
        turnouts, mm2s = result.get(f"{mine}_msgs_per_s"), result.get(f"{theirs}_msgs_per_s")
        if turnouts and mm2s:
            result[ratio] = round(turnouts / mm2s, 3)
    print(json.dumps(result))
    return 1 if result["errors"] else 0


def _settle_disk() -> None:
    """Write what the page cache holds to disk before a side starts: each side writes
    half a gigabyte, and on this machine's disk the write-back of the fill (or of the
    side before) stalls the brokers for seconds (the KRaft controller logs fsyncs of
    2-4 s), so whichever side ran next was timed through the last one's write-back."""
    os.sync()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
