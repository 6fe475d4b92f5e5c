"""Alembic environment: the control plane's metadata, online and offline modes."""

from __future__ import annotations

import os

from sqlalchemy import engine_from_config, pool

from alembic import context
from turnout.controlplane.models import Base

config = context.config
# A plain `alembic upgrade head` follows the same variable as the service.
if os.environ.get("TURNOUT_DATABASE_URL") and config.get_main_option("sqlalchemy.url", "") == (
    "sqlite:///turnout-controlplane.db"
):
    config.set_main_option("sqlalchemy.url", os.environ["TURNOUT_DATABASE_URL"])

target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        # Batch mode: SQLite cannot ALTER most things in place.
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
