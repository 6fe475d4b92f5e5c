"""Token lifecycle and scopes: a token's expiry, last use, the secret its latest rotation
replaced (valid for a grace period) and the deployments it may see; a deployment's team.

Tokens that exist before this revision keep their role, never expire (``expires_at``
NULL) and are unscoped (``scope`` NULL): they act as they did. Deployments get no team.
Written by hand, without application imports, like 0001.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("previous_token_hash", sa.String(64), nullable=True))
        batch_op.add_column(
            sa.Column("previous_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("scope", sa.JSON(), nullable=True))
        batch_op.create_unique_constraint(
            "uq_api_tokens_previous_token_hash", ["previous_token_hash"]
        )
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team", sa.String(200), nullable=True))
        batch_op.create_index("ix_deployments_team", ["team"])


def downgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_index("ix_deployments_team")
        batch_op.drop_column("team")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint("uq_api_tokens_previous_token_hash", type_="unique")
        for column in (
            "scope",
            "previous_expires_at",
            "previous_token_hash",
            "last_used_at",
            "expires_at",
        ):
            batch_op.drop_column(column)
