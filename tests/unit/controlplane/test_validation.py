from __future__ import annotations

import pytest
from pydantic import ValidationError

from turnout.controlplane.schemas import DeploymentCreate, OffsetResetRequest, PinsRequest
from turnout.controlplane.settings import ControlPlaneSettings
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
        ({"live": {"group": "g", "topics": []}}, "topics"),
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
        ({"workers": 0}, "workers"),
    ],
)
def test_invalid_deployments_are_rejected_with_the_field(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        DeploymentCreate.model_validate(body(**changes))


def test_offset_reset_needs_its_target() -> None:
    with pytest.raises(ValidationError, match="timestamp_ms"):
        OffsetResetRequest.model_validate({"to": "timestamp"})
    with pytest.raises(ValidationError, match="needs offsets"):
        OffsetResetRequest.model_validate({"to": "explicit"})
    with pytest.raises(ValidationError, match=">= 0"):
        OffsetResetRequest.model_validate({"to": "explicit", "offsets": {"t/0": -1}})
    assert OffsetResetRequest.model_validate({"to": "earliest"}).dry_run is True


def test_pins_must_name_partitions_and_instances() -> None:
    with pytest.raises(ValidationError):
        PinsRequest.model_validate({"pins": {"t/x": "a"}})
    with pytest.raises(ValidationError):
        PinsRequest.model_validate({"pins": {"t/1": "bad name"}})


def test_settings_normalise_postgres_driver_and_check_digest() -> None:
    settings = ControlPlaneSettings(database_url="postgresql://u@h/db")
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    with pytest.raises(ValidationError, match="user:password"):
        ControlPlaneSettings(zookeeper_digest="nopassword")  # type: ignore[arg-type]
