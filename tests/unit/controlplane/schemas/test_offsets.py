from __future__ import annotations

import pytest
from pydantic import ValidationError

from turnout.controlplane.schemas.offsets import OffsetResetRequest


def test_offset_reset_needs_its_target() -> None:
    with pytest.raises(ValidationError, match="timestamp_ms"):
        OffsetResetRequest.model_validate({"to": "timestamp"})
    with pytest.raises(ValidationError, match="needs offsets"):
        OffsetResetRequest.model_validate({"to": "explicit"})
    with pytest.raises(ValidationError, match=">= 0"):
        OffsetResetRequest.model_validate({"to": "explicit", "offsets": {"t/0": -1}})
    assert OffsetResetRequest.model_validate({"to": "earliest"}).dry_run is True
