"""The ``"<topic>/<partition>"`` text form both sides key JSON objects by."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from turnout.protocol.partitions import parse_partition_key, partition_key

topics = st.text(min_size=1)
partitions = st.integers(min_value=0, max_value=2**31 - 1)


def test_a_key_is_the_topic_a_slash_and_the_partition_number() -> None:
    assert partition_key("invoices", 3) == "invoices/3"
    assert parse_partition_key("invoices/3") == ("invoices", 3)


def test_a_topic_containing_slashes_is_split_at_the_last_one() -> None:
    assert partition_key("eu/billing/invoices", 12) == "eu/billing/invoices/12"
    assert parse_partition_key("eu/billing/invoices/12") == ("eu/billing/invoices", 12)
    assert parse_partition_key("//0") == ("/", 0)


@given(topics, partitions)
def test_parsing_a_key_gives_back_the_topic_and_partition_it_was_made_of(
    topic: str, partition: int
) -> None:
    assert parse_partition_key(partition_key(topic, partition)) == (topic, partition)


@pytest.mark.parametrize(
    "key",
    ["", "invoices", "invoices/", "/3", "invoices/-1", "invoices/x", "invoices/3a", "invoices/ 3"],
)
def test_a_malformed_key_raises_value_error_naming_it(key: str) -> None:
    with pytest.raises(ValueError, match="must look like '<topic>/<partition number>'"):
        parse_partition_key(key)
