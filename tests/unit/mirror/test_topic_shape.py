import pytest

from turnout.agent.work.outcomes import PermanentFailure
from turnout.mirror.topic_shape import (
    PartitionMismatchError,
    check_partitions,
    config_changes,
    copied_configs,
    partitions_to_add,
)


def test_only_allowed_configs_are_copied() -> None:
    source = {
        "cleanup.policy": "compact",
        "retention.ms": "3600000",
        "min.insync.replicas": "2",
        "message.timestamp.type": "CreateTime",
    }
    assert copied_configs(source) == {
        "cleanup.policy": "compact",
        "retention.ms": "3600000",
        "message.timestamp.type": "CreateTime",
    }


def test_a_target_with_fewer_partitions_is_a_permanent_error_naming_both_counts() -> None:
    with pytest.raises(PartitionMismatchError, match="has 4 partitions, fewer than the 16"):
        check_partitions("orders", "a.orders", 16, 4)
    assert issubclass(PartitionMismatchError, PermanentFailure)


def test_a_target_with_as_many_or_more_partitions_holds_every_source_partition() -> None:
    check_partitions("orders", "a.orders", 16, 16)
    check_partitions("orders", "a.orders", 16, 32)


def test_a_denied_config_is_not_copied_though_allowed() -> None:
    source = {"retention.ms": "3600000", "cleanup.policy": "compact"}
    assert copied_configs(source, deny=frozenset({"cleanup.policy"})) == {"retention.ms": "3600000"}


def test_only_the_source_configs_the_target_has_otherwise_are_changed() -> None:
    source = {"retention.ms": "3600000", "cleanup.policy": "delete", "min.insync.replicas": "2"}
    target = {
        "retention.ms": "604800000",
        "cleanup.policy": "delete",
        "retention.bytes": "1073741824",
        "min.insync.replicas": "1",
    }
    # retention.bytes (the target's own) stays; min.insync.replicas is not allowed.
    assert config_changes(source, target) == {"retention.ms": "3600000"}
    assert config_changes(source, target, deny=frozenset({"retention.ms"})) == {}


def test_a_config_the_target_lacks_is_set() -> None:
    assert config_changes({"segment.ms": "60000"}, {}) == {"segment.ms": "60000"}


def test_partitions_added_to_a_source_the_target_held_are_added_to_the_target() -> None:
    assert partitions_to_add("orders", "a.orders", 8, 4, held_before=True) == 4
    assert partitions_to_add("orders", "a.orders", 8, 8, held_before=True) == 0
    assert partitions_to_add("orders", "a.orders", 8, 16, held_before=False) == 0


def test_a_target_found_short_at_first_sight_is_a_mismatch_not_grown() -> None:
    with pytest.raises(PartitionMismatchError, match="has 4 partitions, fewer than the 8"):
        partitions_to_add("orders", "a.orders", 8, 4, held_before=False)
