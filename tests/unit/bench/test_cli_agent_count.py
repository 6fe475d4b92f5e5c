"""The throughput benchmark's count of the CLI agent's handled records (bench/cli_agent.py),
read from a metrics page as an agent under the work manager serves it."""

from __future__ import annotations

from bench.cli_agent import processed_in

#: Both counters hold the work manager's count: the agent's total includes every
#: manager's, and the manager's own is the same records per topic.
PAGE = """\
# HELP turnout_agent_records_processed_total Records handled.
# TYPE turnout_agent_records_processed_total counter
turnout_agent_records_processed_total{deployment="bench",instance="x"} 1e+06
# HELP turnout_work_processed_total Records the work manager completed.
# TYPE turnout_work_processed_total counter
turnout_work_processed_total{topic="t-1"} 600000.0
turnout_work_processed_total{topic="t-2"} 400000.0
"""


def test_each_handled_record_counts_once_though_two_counters_hold_it() -> None:
    assert processed_in(PAGE) == 1_000_000


def test_a_page_without_the_agents_counter_counts_nothing_yet() -> None:
    assert processed_in('turnout_work_processed_total{topic="t"} 5.0\n') == 0
