from __future__ import annotations

import pytest
from pydantic import ValidationError

from turnout.controlplane.schemas.deployments import DeploymentCreate
from turnout.protocol import Colour, Role


def body(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "billing",
        "cluster": "local",
        "live": {"group": "billing", "topics": ["payments"]},
        "colours": {"blue": {"version": "1"}, "green": {"version": "2"}},
    }
    base.update(changes)
    return base


def test_default_roles_blue_live_green_standby_or_preview() -> None:
    assert DeploymentCreate.model_validate(body()).roles() == {
        Colour.BLUE: Role.LIVE,
        Colour.GREEN: Role.STANDBY,
    }
    with_preview = DeploymentCreate.model_validate(
        body(preview={"group": "billing-preview", "topics": ["payments-mirror"]})
    )
    assert with_preview.roles()[Colour.GREEN] is Role.PREVIEW


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "bad/name"}, "deployment"),
        ({"live": {"group": "g", "topics": []}}, "live.topics is empty"),
        ({"live": {"group": "g"}}, "live.topics is empty"),
        ({"preview": {"group": "billing-preview", "topics": []}}, "preview.topics is empty"),
        (
            {"live": {"group": "g"}, "mirror": {"target_cluster": "dr"}},
            "only a mirror's live binding, with a source_topic_pattern",
        ),
        ({"live": {"group": "g", "topics": ["a", "a"]}}, "must not repeat"),
        ({"pins": {"payments": "x"}}, "topic>/<partition"),
        (
            {
                "colours": {
                    "blue": {"version": "1", "role": "live"},
                    "green": {"version": "2", "role": "live"},
                }
            },
            "exactly one colour must be live",
        ),
        (
            {"colours": {"blue": {"version": "1", "role": "live"}, "green": {"version": "2"}}},
            "both colours or of neither",
        ),
        ({"preview": {"group": "billing", "topics": ["m"]}}, "group of its own"),
        ({"workers": 4}, "workers moved into the processing object"),
        ({"ordering": "key"}, "ordering moved into the processing object"),
    ],
)
def test_invalid_deployments_are_rejected_with_the_field(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        DeploymentCreate.model_validate(body(**changes))


def test_a_mirror_may_be_made_of_a_source_topic_pattern_alone() -> None:
    mirror = {"target_cluster": "dr", "source_topic_pattern": r"orders\..*"}
    created = DeploymentCreate.model_validate(body(live={"group": "g"}, mirror=mirror))
    assert created.live.topics == []
    assert created.mirror is not None
    assert created.mirror.source_topic_pattern == r"orders\..*"
