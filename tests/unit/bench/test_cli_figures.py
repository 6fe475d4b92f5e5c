"""The CLI start-up benchmark's figures (bench/cli.py) on hand-made samples."""

from __future__ import annotations

import pytest

from bench.cli import Samples, child_environment


def test_figures_are_the_median_and_nearest_rank_p90_of_the_runs() -> None:
    samples = Samples(wall_s=[0.1 * i for i in range(1, 11)], cpu_s=[0.05, 0.01, 0.03])
    assert samples.figures() == {"wall_s_median": 0.55, "wall_s_p90": 0.9, "cpu_s_median": 0.03}


def test_commands_run_with_the_bytecode_cache_and_no_turnout_setting_from_outside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("TURNOUT_URL", "http://elsewhere")
    env = child_environment(TURNOUT_TOKEN="t")
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert "TURNOUT_URL" not in env
    assert env["TURNOUT_TOKEN"] == "t"
