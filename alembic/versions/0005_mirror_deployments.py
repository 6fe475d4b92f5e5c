"""A mirror deployment's copy: its target cluster and topic naming.

``mirror`` holds the naming (``schemas.mirrors.MirrorBody`` without the target) and
``mirror_target_cluster_id`` the target cluster, which cannot be deleted while a mirror
writes to it. Existing rows keep NULL: not mirrors. Written by hand, without application
imports, like 0001.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mirror", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("mirror_target_cluster_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_deployments_mirror_target_cluster_id_clusters",
            "clusters",
            ["mirror_target_cluster_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_constraint(
            "fk_deployments_mirror_target_cluster_id_clusters", type_="foreignkey"
        )
        batch_op.drop_column("mirror_target_cluster_id")
        batch_op.drop_column("mirror")
