"""``python -m bench.processors`` end to end at a tiny size, every run included (the
quixstreams side in its own environment, made once and cached), so that the benchmark
cannot rot: its JSON has every figure, every output is judged exact, and the switches
lose and duplicate nothing."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.agent_kit import REPO_ROOT
from tests.support.services import Services

RECORDS = 2_000
SWITCHES = 2
#: The whole benchmark at this size takes well under a minute once quixstreams'
#: environment exists; making it (downloads from PyPI) takes some seconds more.
BENCH_TIMEOUT_S = 300.0


def test_the_processors_benchmark_reports_every_figure_with_exact_outputs(
    services: Services,
) -> None:
    command = [
        sys.executable, "-m", "bench.processors", "--bootstrap", services.kafka,
        "--zookeeper", services.zookeeper, "--records", str(RECORDS),
        "--switches", str(SWITCHES),
    ]  # fmt: skip
    completed = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=BENCH_TIMEOUT_S
    )
    assert completed.stdout.strip(), f"no JSON; stderr:\n{completed.stderr[-4000:]}"
    result = json.loads(completed.stdout)
    assert result["errors"] == {}, (
        f"runs failed (quixstreams' environment needs uv and PyPI): {result['errors']}\n"
        f"stderr:\n{completed.stderr[-4000:]}"
    )
    assert completed.returncode == 0
    for run in ("turnout_alo", "turnout_eos", "quix_alo", "quix_eos"):
        assert result[f"{run}_msgs_per_s"] > 0
        assert result["outputs"][run] == {
            "lost": 0, "duplicates": 0, "out_of_order": 0, "unexpected": 0,
        }  # fmt: skip
    assert result["ratio_alo"] > 0 and result["ratio_eos"] > 0
    assert result["versions"]["quix"]["quixstreams"] == "3.28.1"
    switch = result["eos_switch"]
    assert switch["switches"] == SWITCHES
    assert switch["switch_ms_p99"] > 0
    assert (switch["output_lost"], switch["output_duplicates"]) == (0, 0)
    assert set(switch["outputs_by_colour"]) == {"blue", "green"}
