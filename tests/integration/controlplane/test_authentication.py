"""``services.authentication`` on a real (SQLite) database, with the clock passed in: when
``last_used_at`` is written, and where expiry and a rotation's grace period end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from turnout.controlplane.db import make_engine, make_sessionmaker, migrate
from turnout.controlplane.models import ApiToken, utc_now
from turnout.controlplane.security import ApiRole
from turnout.controlplane.services.authentication import (
    LAST_USED_RESOLUTION_S,
    AuthenticationFailedError,
    FailureReason,
    authenticate,
)
from turnout.controlplane.services.tokens import create_token, rotate_token


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    migrate(url)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as opened:
        yield opened
    engine.dispose()


def _refusal(session: Session, token: str, at: datetime) -> FailureReason:
    with pytest.raises(AuthenticationFailedError) as refused:
        authenticate(session, token, at)
    return refused.value.reason


def test_last_use_is_written_at_most_once_per_resolution(session: Session) -> None:
    token = create_token(session, name="busy", role=ApiRole.VIEWER, actor="t").token
    start = utc_now()
    first = authenticate(session, token, start).last_used_at
    assert first == start
    within = start + timedelta(seconds=LAST_USED_RESOLUTION_S - 1)
    assert authenticate(session, token, within).last_used_at == start
    later = start + timedelta(seconds=LAST_USED_RESOLUTION_S + 1)
    assert authenticate(session, token, later).last_used_at == later


def test_a_token_stops_at_its_expiry_and_a_replaced_secret_at_its_grace_end(
    session: Session,
) -> None:
    old = create_token(session, name="ci", role=ApiRole.OPERATOR, actor="t", ttl_s=600).token
    rotated = rotate_token(session, name="ci", actor="t", ttl_s=3600, grace_s=60)
    assert rotated.previous_valid_until is not None and rotated.expires_at is not None
    before_grace_end = rotated.previous_valid_until - timedelta(seconds=1)
    assert authenticate(session, old, before_grace_end).name == "ci"
    assert _refusal(session, old, rotated.previous_valid_until) is FailureReason.REPLACED
    assert authenticate(session, rotated.token, rotated.previous_valid_until).name == "ci"
    assert _refusal(session, rotated.token, rotated.expires_at) is FailureReason.EXPIRED
    assert _refusal(session, "tnt_never-issued", utc_now()) is FailureReason.UNKNOWN
    assert _refusal(session, "", utc_now()) is FailureReason.MISSING


def test_rotating_an_almost_expired_token_keeps_the_old_secret_no_longer_than_it_had(
    session: Session,
) -> None:
    create_token(session, name="ci", role=ApiRole.VIEWER, actor="t", ttl_s=30)
    expires_at = session.scalar(select(ApiToken.expires_at))
    rotated = rotate_token(session, name="ci", actor="t", ttl_s=3600, grace_s=86_400)
    assert rotated.previous_valid_until == expires_at
