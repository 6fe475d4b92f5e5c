"""The checker on hand-made histories (T0): a clean one passes, each planted anomaly is found."""

from __future__ import annotations

import json

from tests.unit.verify.histories import History
from turnout.verify import CheckReport, check


def _check(history: History, *, planned_only: bool = False) -> CheckReport:
    return check(history.produced, history.events, planned_only=planned_only)


def _clean_handoff() -> History:
    """a owns partition 0, b partition 1; a hands partition 0 to b cleanly mid-stream."""
    h = History()
    h.produce(0, 6, key="k0")
    h.produce(1, 3, key="k1")
    h.claim("a", 0, 0)
    h.claim("b", 1, 0)
    h.process("a", 0, 0, 1, 2, key="k0")
    h.process("b", 1, 0, 1, 2, key="k1")
    h.commit("b", 1, 3)
    h.release("a", 0, 3)
    h.claim("b", 0, 3)
    h.process("b", 0, 3, 4, 5, key="k0")
    h.commit("b", 0, 6)
    return h


def _failures(report: CheckReport) -> list[str]:
    return report.failures


def test_clean_history_with_a_planned_handoff_passes() -> None:
    report = _check(_clean_handoff(), planned_only=True)
    assert report.ok, report.to_dict()
    assert (report.acked, report.processed_events, report.processed_records) == (9, 9, 9)
    assert report.duplicates.copies_histogram == {1: 9}


def test_report_is_json_serialisable() -> None:
    h = _clean_handoff()
    h.process("a", 0, 4, key="k0")  # planted trouble so examples are populated
    encoded = json.loads(json.dumps(_check(h).to_dict()))
    assert encoded["ok"] is False
    assert encoded["duplicates"]["copies_histogram"] == {"1": 8, "2": 1}


def test_record_never_processed_is_lost_and_its_skip_is_a_gap() -> None:
    h = History()
    h.produce(0, 4)
    h.claim("a", 0, 0)
    h.process("a", 0, 0, 1, 3)
    report = _check(h)
    assert report.lost.count == 1
    assert report.lost.examples[0]["offset"] == 2
    assert report.lost_unseen == 0
    assert report.gaps.count == 1
    assert report.gaps.examples[0]["skipped"] == [2]
    assert set(_failures(report)) == {"lost", "gaps"}


def test_records_past_the_last_processed_one_are_lost_and_unseen() -> None:
    h = History()
    h.produce(0, 4)
    h.claim("a", 0, 0)
    h.process("a", 0, 0, 1)
    report = _check(h)
    assert (report.lost.count, report.lost_unseen) == (2, 2)
    assert report.gaps.count == 0


def test_processing_intervals_of_two_owners_overlapping_is_detected() -> None:
    h = History()
    h.produce(0, 2)
    h.process("a", 0, 0, start=100)
    h.process("b", 0, 1, start=105)  # a's interval runs to 109
    report = _check(h)
    assert report.overlaps.count == 1
    example = report.overlaps.examples[0]
    assert (example["first"]["instance"], example["second"]["instance"]) == ("a", "b")
    assert _failures(report) == ["overlaps"]


def test_back_to_back_intervals_of_two_owners_do_not_overlap() -> None:
    h = History()
    h.produce(0, 2)
    h.process("a", 0, 0, start=100)  # ends at 109
    h.process("b", 0, 1, start=110)
    assert _check(h).overlaps.count == 0


def test_two_processes_of_one_instance_name_overlapping_is_detected() -> None:
    h = History()
    h.produce(0, 2)
    h.process("a", 0, 0, start=100)
    h.restart("a")
    h.process("a", 0, 1, start=101)
    assert _check(h).overlaps.count == 1


def test_skip_within_a_tenure_is_a_gap_even_if_someone_processes_it_later() -> None:
    h = History()
    h.produce(0, 4)
    h.claim("a", 0, 0)
    h.process("a", 0, 0, 1, 3)
    h.release("a", 0, 2)
    h.claim("b", 0, 2)
    h.process("b", 0, 2)
    report = _check(h)
    assert report.lost.count == 0
    assert report.gaps.count == 1
    assert report.order_violations.count == 0  # no keys
    assert "gaps" in _failures(report)


def test_tenure_starting_past_its_claimed_offset_is_a_gap() -> None:
    h = History()
    h.produce(0, 3)
    h.claim("a", 0, 0)
    h.process("a", 0, 1, 2)
    report = _check(h)
    assert report.gaps.count == 1
    assert report.gaps.examples[0]["skipped"] == [0]


def test_jumping_over_offsets_an_earlier_owner_finished_is_not_a_gap() -> None:
    # b opens at the committed offset 1 with 2 already done by a (commit metadata "done
    # beyond"), so it skips 2 without running the handler. a's own jump over 1 is a gap.
    h = History()
    h.produce(0, 4)
    h.claim("a", 0, 0)
    h.process("a", 0, 0, 2)
    h.release("a", 0, 1)
    h.claim("b", 0, 1)
    h.process("b", 0, 1, 3)
    report = _check(h)
    assert report.gaps.count == 1
    assert report.gaps.examples[0]["instance"] == "a"
    assert report.lost.count == 0


def test_going_back_within_a_tenure_is_a_rewind() -> None:
    h = History()
    h.produce(0, 3)
    h.claim("a", 0, 0)
    h.process("a", 0, 0, 1, 2, 1)
    report = _check(h)
    assert report.rewinds.count == 1
    assert report.rewinds.examples[0]["offset"] == 1
    assert report.duplicates.extra_copies == 1
    assert "rewinds" in _failures(report)


def test_processing_below_the_claimed_start_is_a_rewind() -> None:
    h = History()
    h.produce(0, 3)
    h.claim("a", 0, 2)
    h.process("a", 0, 1, 2)
    assert _check(h).rewinds.count == 1


def test_new_tenure_of_the_same_process_may_restart_lower() -> None:
    h = History()
    h.produce(0, 3)
    h.claim("a", 0, 0)
    h.process("a", 0, 0, 1, 2)
    h.release("a", 0, 3)
    h.claim("a", 0, 3)
    h.produce(0, 1)
    h.process("a", 0, 3)
    assert _check(h, planned_only=True).ok


def test_crash_duplicates_within_the_uncommitted_window_are_allowed_unless_planned() -> None:
    h = History()
    h.produce(0, 5)
    h.claim("a", 0, 0)
    h.process("a", 0, 0, 1, 2, 3, 4)
    h.commit("a", 0, 3)
    # a is SIGKILLed here: no release; b takes over from the committed offset.
    h.claim("b", 0, 3)
    h.process("b", 0, 3, 4)
    report = _check(h)
    assert report.duplicates.extra_copies == 2
    assert report.duplicates.records == 2
    assert report.duplicates.max_copies == 2
    assert report.duplicates.after_commit == 0
    copies = report.duplicates.examples[0]["copies"]
    assert [c["instance"] for c in copies] == ["a", "b"]
    assert report.ok
    assert _failures(_check(h, planned_only=True)) == ["duplicates"]


def test_reprocessing_an_already_committed_record_always_fails() -> None:
    h = History()
    h.produce(0, 3)
    h.claim("a", 0, 0)
    h.process("a", 0, 0, 1, 2)
    h.commit("a", 0, 3)
    h.claim("b", 0, 0)  # should have started at 3
    h.process("b", 0, 0)
    report = _check(h)
    assert report.duplicates.after_commit == 1
    assert _failures(report) == ["duplicates_after_commit"]


def test_same_key_processed_out_of_offset_order_is_an_order_violation() -> None:
    h = History()
    h.produce(0, 2, key="k")
    h.claim("a", 0, 1)  # wrong start: 0 is left for someone else
    h.process("a", 0, 1, key="k")
    h.release("a", 0, 0)
    h.claim("b", 0, 0)
    h.process("b", 0, 0, key="k")
    report = _check(h)
    assert report.order_violations.count == 1
    assert report.order_violations.examples[0]["offset"] == 0
    assert report.order_violations.examples[0]["processed_after_offset"] == 1
    assert _failures(report) == ["order_violations"]


def test_later_copies_of_duplicates_do_not_count_as_order_violations() -> None:
    h = History()
    h.produce(0, 2, key="k")
    h.claim("a", 0, 0)
    h.process("a", 0, 0, 1, key="k")
    h.claim("b", 0, 0)  # crash takeover, nothing was committed
    h.process("b", 0, 0, 1, key="k")
    report = _check(h)
    assert report.order_violations.count == 0
    assert report.ok


def test_processing_after_release_is_unowned_processing() -> None:
    h = History()
    h.produce(0, 3)
    h.claim("a", 0, 0)
    h.process("a", 0, 0, 1)
    h.release("a", 0, 2)
    h.process("a", 0, 2)
    report = _check(h)
    assert report.unowned_processing.count == 1
    assert report.unowned_processing.examples[0]["offset"] == 2
    assert _failures(report) == ["unowned_processing"]


def test_commit_after_release_is_an_unowned_commit() -> None:
    h = _clean_handoff()
    h.commit("a", 0, 6)
    report = _check(h)
    assert report.unowned_commits.count == 1
    assert _failures(report) == ["unowned_commits"]


def test_committed_offset_going_down_is_a_regression() -> None:
    h = _clean_handoff()
    h.commit("b", 0, 5)
    report = _check(h)
    assert report.commit_regressions.count == 1
    assert report.commit_regressions.examples[0]["previous_offset"] == 6
    assert _failures(report) == ["commit_regressions"]


def test_processed_value_differing_from_the_acked_one_is_a_mismatch() -> None:
    h = History()
    h.produce(0, 1)
    h.process("a", 0, 0)
    h.produced[0] = type(h.produced[0])(topic="t", partition=0, offset=0, key=None, value="other")
    report = _check(h)
    assert report.value_mismatches.count == 1
    assert report.value_mismatches.examples[0]["kind"] == "processed_value"


def test_owners_without_claim_events_are_not_checked_for_ownership() -> None:
    h = History()
    h.produce(0, 2)
    h.process("a", 0, 0, 1)
    assert _check(h, planned_only=True).ok


def test_examples_are_capped_but_counts_are_complete() -> None:
    h = History()
    h.produce(0, 50)
    report = _check(h)
    assert report.lost.count == 50
    assert len(report.lost.examples) == 5
