"""A deployment's processing settings: one JSON column (``ProcessingSettings``, its
``version`` inside) in place of the ``ordering`` and ``workers`` columns.

Existing rows keep their ordering and workers as settings version 1; every other field
reads as its default (the model fills missing fields), which is what a deployment created
by this version without them holds. Written by hand, without application imports, like
0001.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 20:00:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: What a missing field of stored settings means (``ProcessingSettings``' defaults), for
#: the downgrade's columns.
ORDERING_DEFAULT = "partition"
WORKERS_DEFAULT = 10


def upgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("processing", sa.JSON(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, ordering, workers FROM deployments")).all()
    table = sa.table(
        "deployments", sa.column("id", sa.Integer()), sa.column("processing", sa.JSON())
    )
    for row_id, ordering, workers in rows:
        connection.execute(
            table.update()
            .where(table.c.id == row_id)
            .values(processing={"version": 1, "ordering": ordering, "workers": int(workers)})
        )
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.alter_column("processing", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("ordering")
        batch_op.drop_column("workers")


def downgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ordering", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("workers", sa.Integer(), nullable=True))
    connection = op.get_bind()
    table = sa.table(
        "deployments",
        sa.column("id", sa.Integer()),
        sa.column("processing", sa.JSON()),
        sa.column("ordering", sa.String()),
        sa.column("workers", sa.Integer()),
    )
    for row_id, processing in connection.execute(sa.select(table.c.id, table.c.processing)):
        settings = processing if isinstance(processing, dict) else json.loads(processing)
        connection.execute(
            table.update()
            .where(table.c.id == row_id)
            .values(
                ordering=settings.get("ordering", ORDERING_DEFAULT),
                workers=settings.get("workers", WORKERS_DEFAULT),
            )
        )
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.alter_column("ordering", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("workers", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("processing")
