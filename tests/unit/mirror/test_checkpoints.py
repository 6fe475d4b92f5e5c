"""The checkpoints' rules: a target group's offsets only move forward, a group with
active members is left alone, and the target group's name comes from the template."""

from __future__ import annotations

from turnout.mirror.checkpoints import checkpoint_commits, may_checkpoint, target_group
from turnout.mirror.translation import TranslatedPartition


def _row(partition: int, target_offset: int | None) -> TranslatedPartition:
    rereads = None if target_offset is None else 0
    return TranslatedPartition("orders", partition, 10, "a.orders", target_offset, rereads)


def test_only_translations_past_the_target_groups_own_offsets_are_committed() -> None:
    rows = [_row(0, 50), _row(1, 50), _row(2, 50), _row(3, None)]
    current = {("a.orders", 0): 40, ("a.orders", 1): 50, ("a.orders", 2): 70}
    assert checkpoint_commits(rows, current) == {("a.orders", 0): 50}


def test_a_partition_without_a_target_offset_gets_the_translation() -> None:
    assert checkpoint_commits([_row(5, 0)], {}) == {("a.orders", 5): 0}


def test_a_group_with_active_members_is_not_written() -> None:
    assert may_checkpoint(0)
    assert not may_checkpoint(1)


def test_the_target_group_is_named_by_the_template() -> None:
    assert target_group("{group}", "billing") == "billing"
    assert target_group("migrated.{group}", "billing") == "migrated.billing"
