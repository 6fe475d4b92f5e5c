"""A cluster's credentials name and a deployment's agents' ZooKeeper user.

Both are names, never secrets: the server resolves a cluster's credentials name to an
env file of its own (``coordination.credentials``), and a deployment's ZooKeeper user
is what the ACLs of its agent directories name (``coordination.acl``). Existing rows
keep NULL: the control plane's own settings, and open directories, as before. Written
by hand, without application imports, like 0001.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clusters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credentials", sa.String(length=200), nullable=True))
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("zookeeper_user", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_column("zookeeper_user")
    with op.batch_alter_table("clusters", schema=None) as batch_op:
        batch_op.drop_column("credentials")
