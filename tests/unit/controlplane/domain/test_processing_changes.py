"""Changing processing settings: merged field by field, checked whole, versioned."""

from __future__ import annotations

from typing import Any

import pytest

from turnout.controlplane.domain.processing_changes import (
    InvalidProcessingError,
    apply_change,
    changes,
    initial_settings,
)
from turnout.protocol.processing import ProcessingSettings, RetrySettings

CURRENT = ProcessingSettings(
    version=3, ordering="partition", workers=4, retries=RetrySettings(max_retries=2)
)


def test_a_partial_change_keeps_every_other_setting_and_bumps_the_version() -> None:
    changed = apply_change(CURRENT, {"ordering": "key", "retries": {"backoff_ms": 50}})
    assert changed.version == 4
    assert (changed.ordering, changed.workers) == ("key", 4)
    assert (changed.retries.backoff_ms, changed.retries.max_retries) == (50, 2)


def test_a_change_to_the_values_in_force_keeps_the_version() -> None:
    assert apply_change(CURRENT, {"workers": 4, "retries": {"max_retries": 2}}) == CURRENT
    assert apply_change(CURRENT, {}) == CURRENT


def test_a_new_deployment_starts_at_version_1_from_the_defaults() -> None:
    first = initial_settings({"workers": 32})
    assert first.version == 1 and first.workers == 32
    assert first.ordering == ProcessingSettings().ordering
    assert initial_settings({}) == ProcessingSettings()


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"workers": 0}, ("workers",), "greater than or equal to 1"),
        ({"retries": {"max_retries": "many"}}, ("retries", "max_retries"), "integer"),
        ({"ordering": "lifo"}, ("ordering",), "'lifo' is not one of partition, key"),
        ({"escalation": {"action": "explode"}}, ("escalation", "action"), "not one of"),
        ({"on_exhausted": "shrug"}, ("on_exhausted",), "not one of"),
        ({"worker": 3}, ("worker",), "not a processing setting"),
        ({"retries": {"max_retry": 3}}, ("retries", "max_retry"), "not a processing setting"),
        ({"retries": 3}, ("retries",), "must be an object"),
        ({"version": 9}, ("version",), "set by the control plane"),
        ({"retries": {"max_backoff_ms": 10}}, ("retries",), "at least backoff_ms"),
        ({"guarantee": "at_most_once"}, ("guarantee",), "not one of at_least_once"),
        (
            {"outputs": {"enriched": {"live": "out", "preview": "out"}}},
            ("outputs",),
            "must never write to a live topic",
        ),
        (
            {
                "outputs": {
                    "a": {"live": "a", "preview": "a.pv"},
                    "b": {"live": "b", "preview": "a"},
                }
            },
            ("outputs",),
            "is the live topic of output 'a'",
        ),
        (
            {"outputs": {"enriched": {"live": "out"}}},
            ("outputs", "enriched", "preview"),
            "required",
        ),
        ({"outputs": {"e": {"live": "x y", "preview": "p"}}}, ("outputs", "e", "live"), "topic"),
        ({"outputs": {"bad name": {"live": "x", "preview": "p"}}}, ("outputs",), "output name"),
        ({"outputs": {"a.b": {"live": "x", "preview": "p"}}}, ("outputs",), "output name"),
        (
            {"outputs": {"e": {"live": "x", "preview": "p", "standby": "s"}}},
            ("outputs", "e", "standby"),
            "not a processing setting",
        ),
    ],
)
def test_a_refused_change_names_the_field(
    change: dict[str, Any], path: tuple[str, ...], message: str
) -> None:
    with pytest.raises(InvalidProcessingError) as refused:
        apply_change(CURRENT, change)
    [problem] = refused.value.problems
    assert problem.path == path
    assert message in problem.message


def test_outputs_and_the_guarantee_are_accepted_and_versioned() -> None:
    change = {
        "guarantee": "exactly_once",
        "outputs": {"enriched": {"live": "orders.enriched", "preview": "orders.enriched.preview"}},
    }
    changed = apply_change(CURRENT, change)
    assert changed.version == CURRENT.version + 1
    assert changed.guarantee == "exactly_once"
    assert changed.outputs["enriched"].preview == "orders.enriched.preview"
    [changed_once] = [c for c in changes(CURRENT, changed) if c.field == "guarantee"]
    assert (changed_once.old, changed_once.new) == ("at_least_once", "exactly_once")


def test_cross_field_rules_are_checked_against_the_merged_settings() -> None:
    """Raising backoff_ms above the default max is fine when the stored max is higher."""
    current = ProcessingSettings(retries=RetrySettings(max_backoff_ms=120_000))
    assert apply_change(current, {"retries": {"backoff_ms": 60_000}}).retries.backoff_ms == 60_000


def test_every_field_at_fault_is_named_at_once() -> None:
    with pytest.raises(InvalidProcessingError) as refused:
        apply_change(CURRENT, {"workers": 0, "commit_every": 0})
    assert {p.path for p in refused.value.problems} == {("workers",), ("commit_every",)}
    assert "workers" in str(refused.value) and "commit_every" in str(refused.value)


def test_changes_lists_each_leaf_that_differs_by_dotted_name() -> None:
    new = apply_change(CURRENT, {"ordering": "key", "dead_letters": {"enabled": True}})
    assert [(c.field, c.old, c.new) for c in changes(CURRENT, new)] == [
        ("ordering", "partition", "key"),
        ("dead_letters.enabled", False, True),
    ]
