"""``turnout token create|list|rotate|revoke`` on a migrated database (no server needed)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from turnout.cli import app
from turnout.controlplane.db import make_engine, make_sessionmaker, migrate
from turnout.controlplane.models import utc_now
from turnout.controlplane.services.authentication import AuthenticationFailedError, authenticate


def _authenticates(url: str, token: str) -> bool:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            authenticate(session, token, utc_now())
            return True
    except AuthenticationFailedError:
        return False
    finally:
        engine.dispose()


def test_the_token_commands_scope_list_rotate_and_revoke(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    migrate(url)
    runner = CliRunner()
    env = {"TURNOUT_DATABASE_URL": url, "TURNOUT_TOKEN_ROTATION_GRACE_S": "3600"}
    created = runner.invoke(
        app,
        [
            *("token", "create", "--name", "pay", "--role", "operator"),
            *("--team", "payments", "--pattern", "ledger-*", "--expires-in-days", "30"),
        ],
        env=env,
    )
    assert created.exit_code == 0, created.output
    first = created.stdout.strip()
    listed = runner.invoke(app, ["token", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    [row] = listed.stdout.splitlines()[1:]
    assert row.split()[:3] == ["pay", "operator", "team:payments,ledger-*"]
    assert first not in listed.output

    rotated = runner.invoke(app, ["token", "rotate", "pay"], env=env)
    assert rotated.exit_code == 0, rotated.output
    second = rotated.stdout.strip()
    assert second.startswith("tnt_") and second != first
    assert "previous secret works until" in rotated.output
    assert _authenticates(url, first) and _authenticates(url, second)

    revoked = runner.invoke(app, ["token", "revoke", "pay"], env=env)
    assert revoked.exit_code == 0, revoked.output
    assert not _authenticates(url, first) and not _authenticates(url, second)
    missing = runner.invoke(app, ["token", "revoke", "pay"], env=env)
    assert missing.exit_code == 1 and "no token named 'pay'" in missing.output


def test_a_malformed_scope_is_refused_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    migrate(url)
    refused = CliRunner().invoke(
        app,
        ["token", "create", "--name", "x", "--pattern", "a/b"],
        env={"TURNOUT_DATABASE_URL": url},
    )
    assert refused.exit_code == 1
    assert "deployment pattern 'a/b'" in refused.output
