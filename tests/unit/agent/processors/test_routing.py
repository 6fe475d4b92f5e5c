"""Output routing: a logical output's topic per role, and what is refused."""

from __future__ import annotations

import pytest

from turnout.agent.processors.routing import NoOutputRoleError, OutputRoutes, UnknownOutputError
from turnout.agent.work.outcomes import PermanentFailure
from turnout.protocol import OutputTopics, Role

ROUTES = OutputRoutes(
    {
        "enriched": OutputTopics(live="orders.enriched", preview="orders.enriched.pv"),
        "audit": OutputTopics(live="audit", preview="audit.pv"),
    }
)


def test_live_writes_live_topics_and_preview_only_preview_topics() -> None:
    assert ROUTES.topic("enriched", Role.LIVE) == "orders.enriched"
    assert ROUTES.topic("enriched", Role.PREVIEW) == "orders.enriched.pv"
    assert ROUTES.topics(Role.PREVIEW).isdisjoint(ROUTES.topics(Role.LIVE))


@pytest.mark.parametrize("role", [Role.STANDBY, None])
def test_a_colour_without_a_writing_role_writes_nothing(role: Role | None) -> None:
    with pytest.raises(NoOutputRoleError):
        ROUTES.topic("enriched", role)


def test_an_unmapped_output_fails_permanently_naming_the_known_ones() -> None:
    with pytest.raises(UnknownOutputError, match="known: audit, enriched") as refused:
        ROUTES.topic("enrichd", Role.LIVE)
    assert isinstance(refused.value, PermanentFailure)
