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


#: Anything after a last slash that may look like a number: leading zeros, signs, spaces,
#: and digits of other scripts.
number_like = st.text(
    st.sampled_from("0123456789+- ") | st.characters(categories=["Nd"]), min_size=1, max_size=4
)
keys = st.text() | st.builds(lambda topic, number: f"{topic}/{number}", topics, number_like)


@given(keys)
def test_a_key_that_parses_is_the_one_text_form_of_its_partition(key: str) -> None:
    # One partition, one key: a pin map or an owner map never holds two spellings of it.
    try:
        topic, partition = parse_partition_key(key)
    except ValueError:
        return
    assert partition_key(topic, partition) == key


@pytest.mark.parametrize("key", ["invoices/03", "invoices/00", "invoices/\u0663", "invoices/+3"])
def test_another_spelling_of_a_partition_number_is_malformed(key: str) -> None:
    with pytest.raises(ValueError, match="must look like"):
        parse_partition_key(key)
