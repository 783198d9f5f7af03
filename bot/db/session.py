"""Engine and session handling: one engine per process and URL, one session per unit of work."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from bot.db.models import Base
from bot.paths import VAR_DIR

DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'brightbay.db'}"

_lock = threading.Lock()
_engines: Dict[str, Engine] = {}
_sessionmakers: Dict[str, sessionmaker] = {}


def database_url() -> str:
    """The configured database URL: env ``DATABASE_URL`` or the local SQLite file."""
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    # Hosting platforms hand out postgres://, which SQLAlchemy 1.4 no longer accepts.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    return url


# Execution option asking for BEGIN IMMEDIATE on SQLite, see lock_for_write().
_SQLITE_IMMEDIATE = "brightbay_sqlite_begin_immediate"
_PG_SETUP_LOCK_KEY = 0x42524159  # arbitrary, "BRAY"


def _on_sqlite_connect(dbapi_connection, _connection_record) -> None:
    # pysqlite otherwise delays BEGIN until the first write, so a read-check-then-write
    # would not be one transaction; we emit BEGIN ourselves (SQLAlchemy's documented recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # SQLite ignores foreign keys unless asked, per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets the action server read while another process writes.
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


def _on_sqlite_begin(conn) -> None:
    immediate = conn.get_execution_options().get(_SQLITE_IMMEDIATE)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, future=True)

    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    kwargs = {"connect_args": {"check_same_thread": False}, "future": True}
    if in_memory:
        # Every connection to :memory: would otherwise be a different, empty database.
        kwargs["poolclass"] = StaticPool
    elif not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _engine_and_sessionmaker(url: str) -> Tuple[Engine, sessionmaker]:
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create_engine(url)
            _sessionmakers[url] = sessionmaker(bind=engine, future=True)
        return engine, _sessionmakers[url]


def get_engine(url: Optional[str] = None) -> Engine:
    """Return the process-wide engine for ``url`` (default: :func:`database_url`)."""
    return _engine_and_sessionmaker(url or database_url())[0]


@contextmanager
def session_scope(url: Optional[str] = None) -> Iterator[Session]:
    """Yield a fresh session; commit on success, roll back on error, always close."""
    session = _engine_and_sessionmaker(url or database_url())[1]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def lock_for_write(session: Session) -> None:
    """Start ``session``'s transaction holding the database write lock on SQLite.

    Call first thing in a read-check-then-write unit of work so concurrent ones
    serialise instead of both passing the check (PostgreSQL: use FOR UPDATE).
    """
    session.connection(execution_options={_SQLITE_IMMEDIATE: True})


def acquire_setup_lock(session: Session) -> None:
    """Hold a database-wide lock for schema creation / seeding until the transaction ends.

    Several processes (action server, seed command) may start on an empty database at once.
    """
    lock_for_write(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_SETUP_LOCK_KEY})


def create_schema(url: Optional[str] = None) -> None:
    """Create all tables that do not exist yet."""
    with session_scope(url) as session:
        acquire_setup_lock(session)
        Base.metadata.create_all(session.connection())


def dispose_engines() -> None:
    """Dispose and forget every cached engine (tests, forked workers)."""
    with _lock:
        engines = list(_engines.values())
        _engines.clear()
        _sessionmakers.clear()
    for engine in engines:
        engine.dispose()
