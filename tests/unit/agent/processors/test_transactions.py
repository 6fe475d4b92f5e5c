"""Exactly-once's pure parts: the transactional id per input partition, the bounds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from turnout.agent.processors.transactions import (
    MAX_TRANSACTION_RECORDS,
    TransactionBounds,
    transaction_timeout_ms,
    transactional_id,
)

names = st.text(alphabet="ab.-_", min_size=1, max_size=6)


def test_the_id_is_the_same_for_every_colour_and_instance_of_a_partition() -> None:
    # Nothing of the colour or instance goes in: only deployment, live group, partition.
    first = transactional_id("orders", "orders-live", ("in", 3))
    assert first == transactional_id("orders", "orders-live", ("in", 3))
    assert first == "turnout.6:orders.11:orders-live.2:in.3"


def test_ids_differ_by_partition_topic_group_and_deployment() -> None:
    ids = {
        transactional_id("d", "g", ("t", 0)),
        transactional_id("d", "g", ("t", 1)),
        transactional_id("d", "g", ("u", 0)),
        transactional_id("d", "h", ("t", 0)),
        transactional_id("e", "g", ("t", 0)),
    }
    assert len(ids) == 5


@given(names, names, names, names, names, names)
def test_different_inputs_never_share_an_id(
    d1: str, g1: str, t1: str, d2: str, g2: str, t2: str
) -> None:
    if (d1, g1, t1) != (d2, g2, t2):
        assert transactional_id(d1, g1, (t1, 0)) != transactional_id(d2, g2, (t2, 0))


def test_bad_parts_are_refused() -> None:
    with pytest.raises(ValueError, match="partition"):
        transactional_id("d", "g", ("t", -1))
    with pytest.raises(ValueError, match="empty"):
        transactional_id("", "g", ("t", 0))


def test_a_transaction_is_due_at_its_record_or_time_bound() -> None:
    bounds = TransactionBounds(max_records=3, max_s=0.5)
    assert not bounds.due(2, opened_at=10.0, now=10.4)
    assert bounds.due(3, opened_at=10.0, now=10.0)
    assert bounds.due(1, opened_at=10.0, now=10.5)
    assert TransactionBounds().max_records == MAX_TRANSACTION_RECORDS
    with pytest.raises(ValueError):
        TransactionBounds(max_records=0)


def test_the_transaction_timeout_stays_inside_the_ownership_lease() -> None:
    timeout = transaction_timeout_ms(session_timeout_s=10.0, fence_margin_s=1.5)
    assert timeout < (10.0 - 1.5) * 1000
    assert timeout == 6800
    with pytest.raises(ValueError, match="floor"):
        transaction_timeout_ms(session_timeout_s=2.5, fence_margin_s=1.5)
