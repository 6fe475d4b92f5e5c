"""Fixtures for the work manager's unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from turnout.agent.work import WorkManager


@pytest.fixture
def managers() -> Iterator[list[WorkManager]]:
    """Managers a test built (``support.build``); each is closed at the end."""
    made: list[WorkManager] = []
    yield made
    for manager in made:
        manager.close(5.0)
