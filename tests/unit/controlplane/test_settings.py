from __future__ import annotations

import pytest
from pydantic import ValidationError

from turnout.controlplane.settings import ControlPlaneSettings


def test_settings_normalise_postgres_driver_and_check_digest() -> None:
    settings = ControlPlaneSettings(database_url="postgresql://u@h/db")
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    with pytest.raises(ValidationError, match="user:password"):
        ControlPlaneSettings(zookeeper_digest="nopassword")  # type: ignore[arg-type]
