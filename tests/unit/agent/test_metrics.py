import pytest

from turnout.agent import metrics as metrics_module
from turnout.agent.metrics import AgentMetrics


def test_status_counters_include_a_dispatchers_own_counts() -> None:
    metrics = AgentMetrics("billing", "billing-blue-0")
    metrics.inc("records_processed", 2)
    metrics.add_counter_source(lambda: {"records_processed": 40.0})
    assert metrics.snapshot()["records_processed"] == 42.0


def test_prometheus_serves_the_counts_the_status_shows_a_dispatchers_own_included() -> None:
    # The work manager keeps its count itself: served as 0 until the scrape read it too.
    metrics = AgentMetrics("billing", "billing-blue-0")
    metrics.inc("records_processed", 2)
    metrics.inc("commits")
    metrics.add_counter_source(lambda: {"records_processed": 40.0})
    labels = {"deployment": "billing", "instance": "billing-blue-0"}
    served = metrics.registry.get_sample_value
    assert served("turnout_agent_records_processed_total", labels) == 42.0
    assert served("turnout_agent_commits_total", labels) == 1.0
    assert served("turnout_agent_fence_events_total", labels) == 0.0
    assert metrics.snapshot()["records_processed"] == 42.0


def test_rate_is_records_processed_per_second_over_the_recent_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = iter([100.0, 101.0, 102.0, 200.0])
    monkeypatch.setattr(metrics_module.time, "monotonic", lambda: next(clock))
    metrics = AgentMetrics("billing", "billing-blue-0")
    assert metrics.snapshot()["rate_per_s"] == 0.0  # one sample: no rate yet
    metrics.inc("records_processed", 50)
    assert metrics.snapshot()["rate_per_s"] == 50.0
    metrics.inc("records_processed", 50)
    assert metrics.snapshot()["rate_per_s"] == 50.0
    # Long idle: old samples leave the window, so the rate falls towards zero.
    assert metrics.snapshot()["rate_per_s"] < 1.0


def test_a_falling_count_reads_as_no_progress_not_a_negative_rate() -> None:
    processed = [100.0]
    metrics = AgentMetrics("billing", "billing-blue-0")
    metrics.add_counter_source(lambda: {"records_processed": processed[0]})
    metrics.snapshot()
    processed[0] = 10.0
    assert metrics.snapshot()["rate_per_s"] == 0.0
