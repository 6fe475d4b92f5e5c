"""``python -m bench.mirror`` end to end at a small size on two real clusters, every side
included (Turnout's mirror and MirrorMaker 2, each at least once and exactly once;
MirrorMaker 2 fetched from Maven once and cached), so that the benchmark cannot rot: its
JSON has every figure and every copy is exact."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.agent_kit import REPO_ROOT
from tests.support.services import Services

RECORDS = 5_000
#: Both sides at this size take seconds once started; MirrorMaker 2's JVM and Connect
#: start-up takes tens of seconds on a loaded machine, and fetching it from Maven (once)
#: some more.
BENCH_TIMEOUT_S = 600.0


def test_the_mirror_benchmark_reports_every_side_with_exact_copies(
    two_clusters: Services,
) -> None:
    assert two_clusters.second_kafka is not None
    command = [
        sys.executable, "-m", "bench.mirror", "--source", two_clusters.kafka,
        "--target", two_clusters.second_kafka, "--zookeeper", two_clusters.zookeeper,
        "--records", str(RECORDS),
    ]  # fmt: skip
    completed = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=BENCH_TIMEOUT_S
    )
    assert completed.stdout.strip(), f"no JSON; stderr:\n{completed.stderr[-4000:]}"
    result = json.loads(completed.stdout)
    assert result["errors"] == {}, f"stderr:\n{completed.stderr[-4000:]}"
    assert completed.returncode == 0
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
    assert result["migration"] == "not built"
