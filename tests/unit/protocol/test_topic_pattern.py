"""A binding's topic pattern: whole names matched, Kafka's internal topics never, the
resolved binding listing what matched, and a pattern that is no regular expression
refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from turnout.protocol import Binding
from turnout.protocol.topic_pattern import MAX_TOPIC_PATTERN_CHARS

CLUSTER_TOPICS = (
    "orders",
    "orders.eu",
    "orders.us",
    "old.orders.eu",
    "__consumer_offsets",
    "payments",
)


def test_the_pattern_takes_whole_names_and_never_kafkas_internal_topics() -> None:
    binding = Binding(group="g", topics=("payments",), topic_pattern=r"orders\..*")
    assert binding.resolved(CLUSTER_TOPICS).topics == ("orders.eu", "orders.us", "payments")
    everything = Binding(group="g", topics=("payments",), topic_pattern=".*")
    assert "__consumer_offsets" not in everything.resolved(CLUSTER_TOPICS).topics
    assert everything.matches("old.orders.eu") and not everything.matches("__transaction_state")


def test_a_binding_without_a_pattern_or_new_matches_resolves_to_itself() -> None:
    plain = Binding(group="g", topics=("orders",))
    assert plain.resolved(CLUSTER_TOPICS) is plain
    nothing_new = Binding(group="g", topics=("orders.eu",), topic_pattern=r"orders\.eu")
    assert nothing_new.resolved(CLUSTER_TOPICS) is nothing_new


def test_the_resolved_binding_keeps_its_group_and_pattern() -> None:
    binding = Binding(group="g", topics=("payments",), topic_pattern=r"orders\.us")
    resolved = binding.resolved(CLUSTER_TOPICS)
    assert (resolved.group, resolved.topic_pattern) == ("g", r"orders\.us")
    assert resolved.resolved(CLUSTER_TOPICS) is resolved


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("orders(", "not a regular expression"),
        ("", "must not be empty"),
        ("x" * (MAX_TOPIC_PATTERN_CHARS + 1), "at most"),
    ],
)
def test_a_pattern_that_is_no_regular_expression_is_refused(pattern: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        Binding(group="g", topics=("orders",), topic_pattern=pattern)
