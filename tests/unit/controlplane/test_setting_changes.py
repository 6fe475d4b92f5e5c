"""The CLI's settings change: a JSON file and name=value assignments."""

from __future__ import annotations

from pathlib import Path

import pytest

from turnout.controlplane.setting_changes import (
    SettingChangeError,
    describe_settings,
    setting_change,
)


def test_assignments_nest_by_dotted_name_and_read_json_values() -> None:
    assert setting_change(
        ["ordering=key", "workers=32", "retries.max_retries=5", "dead_letters.enabled=true"],
        None,
    ) == {
        "ordering": "key",
        "workers": 32,
        "retries": {"max_retries": 5},
        "dead_letters": {"enabled": True},
    }
    assert setting_change(["on_exhausted=null"], None) == {"on_exhausted": None}


def test_assignments_apply_after_the_file(tmp_path: Path) -> None:
    file = tmp_path / "settings.json"
    file.write_text('{"workers": 8, "retries": {"backoff_ms": 10}}')
    assert setting_change(["workers=16", "retries.jitter_ms=0"], file) == {
        "workers": 16,
        "retries": {"backoff_ms": 10, "jitter_ms": 0},
    }


@pytest.mark.parametrize(
    ("assignments", "message"),
    [
        (["workers"], "must look like name=value"),
        (["=3"], "must look like name=value"),
        (["workers=3", "workers.x=1"], "workers is not an object"),
    ],
)
def test_a_malformed_assignment_says_why(assignments: list[str], message: str) -> None:
    with pytest.raises(SettingChangeError, match=message):
        setting_change(assignments, None)


def test_a_file_that_is_not_a_json_object_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "settings.json"
    file.write_text("[1, 2]")
    with pytest.raises(SettingChangeError, match="must hold a JSON object"):
        setting_change([], file)
    with pytest.raises(SettingChangeError, match="cannot read settings"):
        setting_change([], tmp_path / "missing.json")


def test_the_settings_are_described_as_they_would_be_typed() -> None:
    before = {"version": 3, "ordering": "partition", "retries": {"max_retries": 3}}
    title, header, rows = describe_settings("billing", before, None)
    assert title == "processing settings of billing, version 3"
    assert header == ["SETTING", "VALUE"]
    assert rows == [["ordering", "partition"], ["retries.max_retries", "3"]]


def test_a_change_is_described_field_by_field_old_to_new() -> None:
    before = {"version": 3, "ordering": "partition", "on_exhausted": None}
    after = {"version": 4, "ordering": "key", "on_exhausted": None}
    title, header, rows = describe_settings("billing", before, after)
    assert title == "processing settings of billing: version 3 → 4"
    assert (header, rows) == (["SETTING", "OLD", "NEW"], [["ordering", "partition", "key"]])
    title, _, rows = describe_settings("billing", before, before)
    assert title == "processing settings of billing unchanged (version 3)" and rows == []


def test_a_processors_outputs_are_set_by_dotted_name_and_accepted() -> None:
    from turnout.controlplane.domain.processing_changes import apply_change
    from turnout.protocol.processing import ProcessingSettings

    change = setting_change(
        [
            "guarantee=exactly_once",
            "outputs.enriched.live=orders.enriched",
            "outputs.enriched.preview=orders.enriched.preview",
        ],
        None,
    )
    assert change["outputs"] == {
        "enriched": {"live": "orders.enriched", "preview": "orders.enriched.preview"}
    }
    changed = apply_change(ProcessingSettings(), change)
    assert changed.outputs["enriched"].live == "orders.enriched"
    assert changed.guarantee == "exactly_once"
