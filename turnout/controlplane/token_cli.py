"""``turnout token create|list|rotate|revoke``: API tokens, written straight to the
database (TURNOUT_DATABASE_URL), so the first admin token needs no running server.

Lifetimes and the rotation grace period default to the control plane's settings
(``TURNOUT_TOKEN_TTL_S``, ``TURNOUT_TOKEN_ROTATION_GRACE_S``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from turnout.controlplane.cli_support import fail, server_libraries, table
from turnout.controlplane.security import ApiRole

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from turnout.controlplane.schemas.admin import TokenCreated
    from turnout.controlplane.settings import ControlPlaneSettings

token_app = typer.Typer(help="API tokens (written straight to the database).", no_args_is_help=True)

ExpiresOpt = Annotated[
    float | None,
    typer.Option(
        "--expires-in-days", min=0.001, max=3650, help="Lifetime; default: TURNOUT_TOKEN_TTL_S"
    ),
]


@contextmanager
def _database(command: str) -> Iterator[tuple[Session, ControlPlaneSettings]]:
    """A session on the configured database (at the current schema); any service error
    becomes one line and exit code 1."""
    with server_libraries(command):
        from turnout.controlplane.db import (
            SchemaNotCurrentError,
            check_schema,
            make_engine,
            make_sessionmaker,
        )
        from turnout.controlplane.errors import ApiError
    from turnout.controlplane.settings import ControlPlaneSettings

    settings = ControlPlaneSettings()
    engine = make_engine(settings.database_url)
    try:
        check_schema(engine)
        with make_sessionmaker(engine)() as session:
            yield session, settings
    except (SchemaNotCurrentError, ApiError) as exc:
        raise fail(str(exc)) from exc
    finally:
        engine.dispose()


def _ttl_s(days: float | None, settings: ControlPlaneSettings) -> float:
    return settings.token_ttl_s if days is None else days * 86_400


def _show_secret(created: TokenCreated) -> None:
    typer.echo(created.token)
    typer.echo(
        f"(token {created.name!r}, role {created.role}, expires {_when(created.expires_at)}; "
        "it is not shown again)",
        err=True,
    )


@token_app.command("create")
def token_create_command(
    name: Annotated[str, typer.Option(help="Token name: the actor in the audit log")],
    role: Annotated[ApiRole, typer.Option(help="viewer, operator or admin")] = ApiRole.VIEWER,
    expires_in_days: ExpiresOpt = None,
    team: Annotated[
        list[str] | None, typer.Option(help="Scope to this team's deployments (repeatable)")
    ] = None,
    pattern: Annotated[
        list[str] | None,
        typer.Option(help="Scope to deployments matching this glob (repeatable)"),
    ] = None,
) -> None:
    """Create an API token and print it once (the first admin token too). With --team or
    --pattern it sees only those deployments; without, all of them."""
    from turnout.controlplane.domain.scope import DeploymentScope

    try:
        scope = (
            DeploymentScope(patterns=tuple(pattern or ()), teams=tuple(team or ()))
            if team or pattern
            else None
        )
    except ValueError as exc:
        raise fail(str(exc)) from exc
    with _database("token create") as (session, settings):
        from turnout.controlplane.services.tokens import create_token

        created = create_token(
            session,
            name=name,
            role=role,
            actor="cli",
            ttl_s=_ttl_s(expires_in_days, settings),
            scope=scope,
        )
    _show_secret(created)


@token_app.command("rotate")
def token_rotate_command(
    name: str,
    grace_hours: Annotated[
        float | None,
        typer.Option(
            min=0, max=168, help="How long the old secret keeps working; default: the setting"
        ),
    ] = None,
    expires_in_days: ExpiresOpt = None,
) -> None:
    """Give NAME a new secret (printed once); the old one keeps working for the grace
    period, so clients can change over without downtime."""
    with _database("token rotate") as (session, settings):
        from turnout.controlplane.services.tokens import rotate_token

        grace_s = settings.token_rotation_grace_s if grace_hours is None else grace_hours * 3600
        rotated = rotate_token(
            session,
            name=name,
            actor="cli",
            ttl_s=_ttl_s(expires_in_days, settings),
            grace_s=grace_s,
        )
    _show_secret(rotated)
    typer.echo(f"(the previous secret works until {_when(rotated.previous_valid_until)})", err=True)


@token_app.command("list")
def token_list_command() -> None:
    """Names, roles, scopes, expiry and last use (never secrets)."""
    with _database("token list") as (session, _):
        from turnout.controlplane.services.tokens import list_tokens

        page = list_tokens(session, limit=10_000, offset=0)
    rows = [
        [
            t.name,
            t.role.value,
            "all"
            if t.scope is None
            else ",".join([*(f"team:{x}" for x in t.scope.teams), *t.scope.patterns]),
            _when(t.expires_at),
            _when(t.last_used_at),
            _when(t.previous_valid_until),
        ]
        for t in page.data
    ]
    header = ["TOKEN", "ROLE", "SCOPE", "EXPIRES", "LAST USED", "OLD SECRET UNTIL"]
    typer.echo(table(header, rows))


@token_app.command("revoke")
def token_revoke_command(name: str) -> None:
    """Delete NAME: its next request (with either secret) is refused."""
    with _database("token revoke") as (session, _):
        from turnout.controlplane.services.tokens import delete_token

        delete_token(session, name=name, actor="cli")
    typer.echo(f"token {name!r} revoked", err=True)


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%SZ")
