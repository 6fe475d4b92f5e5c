from __future__ import annotations

import pytest

from turnout.controlplane.domain.scope import DeploymentScope, covers, visible_names


def test_a_scope_covers_deployments_by_name_pattern_or_team() -> None:
    scope = DeploymentScope(patterns=("billing-*", "ledger?"), teams=("payments",))
    assert scope.covers("billing-eu", None)
    assert scope.covers("ledger1", "other")
    assert scope.covers("anything", "payments")
    assert not scope.covers("ledger12", None)
    assert not scope.covers("Billing-eu", None)  # case-sensitive, like deployment names
    assert not scope.covers("search", "search-team")


def test_no_scope_covers_everything_and_lists_everything() -> None:
    assert covers(None, "any", None)
    assert visible_names(None, [("a", None)]) is None


def test_visible_names_keeps_only_covered_deployments() -> None:
    scope = DeploymentScope(teams=("payments",))
    pairs = [("a", "payments"), ("b", None), ("c", "search")]
    assert visible_names(scope, pairs) == ["a"]


def test_a_scope_round_trips_through_its_stored_json() -> None:
    scope = DeploymentScope(patterns=("a*",), teams=("t",))
    assert DeploymentScope.from_json(scope.to_json()) == scope
    assert DeploymentScope.from_json(None) is None


@pytest.mark.parametrize(
    ("patterns", "teams"),
    [((), ()), (("a/b",), ()), (("",), ()), ((), ("bad team",)), (("*",) * 51, ())],
)
def test_an_empty_or_malformed_scope_is_refused(
    patterns: tuple[str, ...], teams: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError):
        DeploymentScope(patterns=patterns, teams=teams)
