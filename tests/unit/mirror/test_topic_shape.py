import pytest

from turnout.agent.work.outcomes import PermanentFailure
from turnout.mirror.topic_shape import PartitionMismatchError, check_partitions, copied_configs


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
