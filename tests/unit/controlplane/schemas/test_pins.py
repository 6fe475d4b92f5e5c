from __future__ import annotations

import pytest
from pydantic import ValidationError

from turnout.controlplane.schemas.pins import PinsRequest


def test_pins_must_name_partitions_and_instances() -> None:
    with pytest.raises(ValidationError):
        PinsRequest.model_validate({"pins": {"t/x": "a"}})
    with pytest.raises(ValidationError):
        PinsRequest.model_validate({"pins": {"t/1": "bad name"}})
