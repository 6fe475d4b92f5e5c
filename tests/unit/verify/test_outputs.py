"""Judging output topics: each input's output exactly once, per-key order kept."""

from __future__ import annotations

from turnout.verify import judge_outputs


def test_each_input_once_in_key_order_is_ok() -> None:
    report = judge_outputs(range(4), [("a", 0), ("a", 2), ("b", 1), ("b", 3)])
    assert report.ok and (report.inputs, report.outputs) == (4, 4)


def test_missing_duplicated_unknown_and_reordered_are_each_named() -> None:
    report = judge_outputs(range(4), [("a", 2), ("a", 0), ("b", 1), ("b", 1), ("b", 9)])
    assert report.missing == [3]
    assert report.duplicated == [1]
    assert report.unknown == [9]
    assert report.reordered == ["a"]
    assert not report.ok


def test_a_fan_out_expects_that_many_outputs_per_input() -> None:
    outputs = [("a", 0), ("a", 0), ("a", 1)]
    assert judge_outputs(range(2), outputs, expected_per_input=2).missing == [1]
