"""Engine, sessions and the schema check.

SQLite runs every transaction that may write as ``BEGIN IMMEDIATE``: pysqlite's default
deferred transactions fail at once with "database is locked" when two of them try to
upgrade a read lock to a write lock, instead of waiting their turn. A read-only session
(``make_read_sessionmaker``: GET requests, the event stream) begins a deferred
transaction instead: in WAL mode it reads beside a writer rather than queueing behind
it, so a writer that holds the lock for long (a request waiting on ZooKeeper) does not
stall every page. PostgreSQL needs nothing special: the one-in-flight-switch rule is a
unique constraint, which serialises there.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

#: How long a SQLite writer waits for another writer before giving up. Control-plane
#: transactions take milliseconds; this only covers bursts of concurrent requests.
SQLITE_BUSY_TIMEOUT_S = 30.0
#: How long a read-only session waits for a lock: reads in WAL mode wait for nothing but
#: a checkpoint's moment; the one write such a session may try (a token's last-used time,
#: advisory) gives up after this rather than hold a page up behind a long writer.
SQLITE_READ_ONLY_BUSY_TIMEOUT_S = 1.0
#: The execution option that marks a read-only session's connections (see the module).
READ_ONLY_OPTION = "turnout_read_only"
#: A SQLite write transaction held longer than this is logged with the code that began
#: it: every other writer waited that long (and gives up at ``SQLITE_BUSY_TIMEOUT_S``).
#: Control-plane transactions take milliseconds; seconds mean I/O inside one.
LONG_WRITE_TRANSACTION_S = 5.0
#: How many of the beginning code's innermost Turnout frames that log names.
LONG_WRITE_FRAMES = 6
_WRITE_BEGAN = "turnout_write_began"
#: Frames of the code that began a transaction, not of SQLAlchemy's or this module's.
_LIBRARY_FRAMES = (os.path.dirname(sqlalchemy.__file__), __file__)

log = logging.getLogger(__name__)


def _alembic_home() -> Path:
    """The directory holding ``alembic.ini`` and ``alembic/``: this package in an installed
    wheel, which carries them (see hatch_build.py), else the source checkout's root."""
    packaged = resources.files("turnout.controlplane")
    if isinstance(packaged, Path) and (packaged / "alembic.ini").is_file():
        return packaged
    return Path(__file__).resolve().parents[2]


ALEMBIC_INI = _alembic_home() / "alembic.ini"
ALEMBIC_DIR = ALEMBIC_INI.parent / "alembic"


class SchemaNotCurrentError(RuntimeError):
    """The database is not at the migrations' head: run ``turnout controlplane migrate``."""


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
        )
        _sqlite_immediate_transactions(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_immediate_transactions(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # The busy timeout is the connection's, and pooled connections serve both kinds.
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            wait_ms = int(SQLITE_READ_ONLY_BUSY_TIMEOUT_S * 1000)
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {wait_ms}")
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            connection.info[_WRITE_BEGAN] = (time.monotonic(), traceback.extract_stack())

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _end(connection: Any) -> None:
        began = connection.info.pop(_WRITE_BEGAN, None)
        if began is None:
            return
        held = time.monotonic() - began[0]
        if held > LONG_WRITE_TRANSACTION_S:
            ours = [f for f in began[1] if not f.filename.startswith(_LIBRARY_FRAMES)]
            ours = ours[-LONG_WRITE_FRAMES:]
            log.warning(
                "a transaction held SQLite's write lock for %.1f s (other writers waited); "
                "it began at:\n%s",
                held,
                "".join(traceback.format_list(ours)).rstrip(),
            )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_read_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions for work that only reads (see the module); on PostgreSQL the same as
    ``make_sessionmaker``'s."""
    return sessionmaker(
        engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
    )


def alembic_config(url: str) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    # ``%`` is alembic's interpolation character; URLs may carry it (escaped passwords).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> str:
    """Bring the database to the newest schema (``alembic upgrade head``); return the head."""
    from alembic import command

    config = alembic_config(url)
    command.upgrade(config, "head")
    return head_revision(url)


def head_revision(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if head is None:
        raise SchemaNotCurrentError("the alembic directory has no migrations")
    return head


def check_schema(engine: Engine) -> None:
    """Fail clearly unless the database is at head; serve never migrates implicitly."""
    head = head_revision(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        raise SchemaNotCurrentError(
            f"the database at {engine.url.render_as_string(hide_password=True)} is at schema "
            f"revision {current or 'none (empty database)'}, the code needs {head}: "
            "run `turnout controlplane migrate` first"
        )
