"""Alembic environment for the control plane's database.

The URL is taken from the Alembic config's ``sqlalchemy.url`` when a caller set it
(`turnout controlplane migrate` does), else from ``TURNOUT_DATABASE_URL``, else the
zero-setup SQLite default.
"""

from __future__ import annotations

import os

from sqlalchemy import engine_from_config, pool

from alembic import context

config = context.config
url = config.get_main_option("sqlalchemy.url") or os.environ.get(
    "TURNOUT_DATABASE_URL", "sqlite:///turnout.db"
)
config.set_main_option("sqlalchemy.url", url)

try:
    from turnout.controlplane.db.models import Base
except ImportError:  # the schema arrives with the control plane (issue 5)
    target_metadata = None
else:
    target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
