"""``python -m bench.mirror`` end to end at a small size on two real clusters, every side
included (Turnout's mirror and MirrorMaker 2, each at least once and exactly once;
MirrorMaker 2 fetched from Maven once and cached), so that the benchmark cannot rot: its
JSON has every figure and every copy is exact."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.support.agent_kit import REPO_ROOT
from tests.support.services import Services

RECORDS = 5_000
#: Both sides at this size take seconds once started; MirrorMaker 2's JVM and Connect
#: start-up takes tens of seconds on a loaded machine, and fetching it from Maven (once)
#: some more.
BENCH_TIMEOUT_S = 600.0


def _run_bench(services: Services, *options: str) -> dict[str, Any]:
    assert services.second_kafka is not None
    command = [
        sys.executable, "-m", "bench.mirror", "--source", services.kafka,
        "--target", services.second_kafka, "--zookeeper", services.zookeeper,
        "--records", str(RECORDS), *options,
    ]  # fmt: skip
    completed = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=BENCH_TIMEOUT_S
    )
    assert completed.stdout.strip(), f"no JSON; stderr:\n{completed.stderr[-4000:]}"
    result: dict[str, Any] = json.loads(completed.stdout)
    assert result["errors"] == {}, f"stderr:\n{completed.stderr[-4000:]}"
    assert completed.returncode == 0
    return result


def _assert_exact_migration(result: dict[str, Any]) -> None:
    migration = result["migration"]
    assert migration["switch_ms"] > 0
    assert migration["gap_ms_max"] >= 0
    assert migration["acked"] > 0
    assert (migration["lost"], migration["duplicates"], migration["checker_ok"]) == (0, 0, True)


def test_the_mirror_benchmark_reports_every_side_with_exact_copies(
    two_clusters: Services,
) -> None:
    result = _run_bench(two_clusters)
    for side in ("turnout", "mm2", "turnout_eos", "mm2_eos"):
        assert result[f"{side}_msgs_per_s"] > 0
        assert result[f"{side}_startup_s"] > 0
        assert result["copies"][side] == {"lost": 0, "duplicates": 0, "unexpected": 0}
    assert result["ratio"] > 0
    assert result["ratio_eos"] > 0
    for side in ("mm2", "mm2_eos"):
        assert result["settings"][side]["properties"]["tasks.max"] == str(result["instances"])
        assert result["settings"][side]["version"] == "4.3.1"
    mm2_eos = result["settings"]["mm2_eos"]["properties"]
    assert mm2_eos["dsteos.exactly.once.source.support"] == "enabled"
    assert result["settings"]["turnout_eos"]["guarantee"] == "exactly_once"
    # Both exactly-once sides wrote in transactions: markers in every partition.
    for side in ("turnout_eos", "mm2_eos"):
        assert result["offsets_skipped"][side] >= result["partitions"]
    _assert_exact_migration(result)


@pytest.mark.long  # the every-side run above judges the migration slot too
def test_the_migration_slot_reports_an_exact_cross_cluster_switch(
    two_clusters: Services, record_property: pytest.RecordProperty
) -> None:
    result = _run_bench(two_clusters, "--only", "migration")
    _assert_exact_migration(result)
    for figure in ("switch_ms", "gap_ms_max", "acked"):
        record_property(figure, result["migration"][figure])
    assert "turnout_msgs_per_s" not in result and "mm2_msgs_per_s" not in result
