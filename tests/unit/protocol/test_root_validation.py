"""Which ZooKeeper roots Turnout accepts for its tree, and what it says about the rest."""

from __future__ import annotations

import re

import pytest

from turnout.protocol.paths import validate_root


@pytest.mark.parametrize("root", ["/turnout", "/teams/payments/turnout", "/zookeeper-apps"])
def test_an_absolute_root_of_its_own_is_accepted(root: str) -> None:
    assert validate_root(root) == root


@pytest.mark.parametrize(
    ("root", "reason"),
    [
        ("/", "must not be /"),
        ("/zookeeper", "ZooKeeper's own tree"),
        ("/zookeeper/quota", "ZooKeeper's own tree"),
        ("/a/../zookeeper", "'.' or '..'"),
        ("/turnout/", "without a trailing /"),
        ("turnout", "absolute"),
        ("/tur nout", "segments of letters"),
        ("/" + "a" * 600, "at most 500 characters"),
    ],
)
def test_a_root_that_is_not_usable_is_refused_with_the_reason(root: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        validate_root(root)
