"""The agent's public API: every name ``turnout.agent`` exports can be imported from it."""

from __future__ import annotations

import turnout.agent


def test_every_exported_name_is_importable_from_the_package() -> None:
    missing = [name for name in turnout.agent.__all__ if not hasattr(turnout.agent, name)]
    assert missing == []
    assert {"Agent", "AgentConfig", "AgentState", "Record", "PartitionId"} <= set(
        turnout.agent.__all__
    )
