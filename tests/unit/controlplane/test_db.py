"""SQLite transactions of the control plane (``turnout/controlplane/db.py``), on a real
SQLite file: a write transaction held long is logged with the code that began it; a
read-only session's is not (it holds no write lock)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from turnout.controlplane import db

HELD_S = 0.05


def _hold_a_write(tmp_path: Path, read_only: bool) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'cp.db'}")
    make = db.make_read_sessionmaker if read_only else db.make_sessionmaker
    try:
        with make(engine)() as session:
            session.execute(text("SELECT 1"))
            time.sleep(HELD_S * 2)
            session.commit()
    finally:
        engine.dispose()


def _warnings_of_a_long_hold(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    *,
    read_only: bool,
) -> list[str]:
    monkeypatch.setattr(db, "LONG_WRITE_TRANSACTION_S", HELD_S)
    with caplog.at_level(logging.WARNING, logger="turnout.controlplane.db"):
        _hold_a_write(tmp_path, read_only=read_only)
    return [r.getMessage() for r in caplog.records]


def test_a_long_write_transaction_is_logged_with_where_it_began(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    (warning,) = _warnings_of_a_long_hold(tmp_path, caplog, monkeypatch, read_only=False)
    assert "held SQLite's write lock for" in warning
    assert "_hold_a_write" in warning  # the code that began it, not SQLAlchemy's


def test_a_read_only_session_is_never_logged_as_holding_the_write_lock(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _warnings_of_a_long_hold(tmp_path, caplog, monkeypatch, read_only=True) == []
