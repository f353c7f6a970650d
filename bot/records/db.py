"""Engines and sessions, built lazily: nothing connects at import time.

- :func:`make_engine` builds an engine for a URL (SQLite or PostgreSQL through
  psycopg 3) with the per-dialect set-up.
- :func:`get_sessionmaker` returns the process's session factory for a URL,
  built on first use (and again in a forked child, which must not share the
  parent's connections).
- :func:`session_scope` is one unit of work: commit on success, rollback on
  error, always close. Use one per request or per action run.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, create_engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import load_settings

SQLITE_BUSY_TIMEOUT_MS = 10_000

_lock = threading.Lock()
_factories: dict[tuple[int, str], sessionmaker[Session]] = {}


def normalize_url(url: str) -> URL:
    """Parse a database URL, mapping PostgreSQL URLs to the psycopg 3 driver.

    ``postgres://``, ``postgresql://`` and ``postgresql+psycopg2://`` all become
    ``postgresql+psycopg://``; SQLite URLs are kept as they are.
    """
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(
            f"DATABASE_URL must be a sqlite:/// or postgresql:// URL, got a {backend} URL"
        )
    return parsed


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _setup_sqlite(engine: Engine, *, file_backed: bool) -> None:
    """Foreign keys, WAL and real transactions (SAVEPOINT) for pysqlite."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions
        # begin, so that BEGIN / SAVEPOINT / ROLLBACK TO behave as documented.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if file_backed:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Build an engine for ``url`` (default: the ``DATABASE_URL`` setting).

    For a SQLite file the parent directory is created. Extra keyword arguments
    go to :func:`sqlalchemy.create_engine`. Statement parameters (ID numbers,
    phones, account numbers) are left out of SQL errors and of the SQL log
    (``hide_parameters``): a failed query logs its SQL, never its values.
    """
    kwargs.setdefault("hide_parameters", True)
    parsed = normalize_url(url or load_settings().database_url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **kwargs)
        _setup_sqlite(engine, file_backed=path is not None)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def get_sessionmaker(url: str | None = None) -> sessionmaker[Session]:
    """The session factory of this process for ``url`` (default: the setting)."""
    resolved = url or load_settings().database_url
    key = (os.getpid(), resolved)
    factory = _factories.get(key)
    if factory is not None:
        return factory
    with _lock:
        factory = _factories.get(key)
        if factory is None:
            factory = sessionmaker(bind=make_engine(resolved), expire_on_commit=False)
            _factories[key] = factory
    return factory


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One transaction: commit if the block succeeds, roll back if it raises."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Close every pooled connection of this process and forget the factories."""
    with _lock:
        for (pid, _url), factory in list(_factories.items()):
            if pid == os.getpid():
                bind = factory.kw.get("bind")
                if bind is not None:
                    bind.dispose()
        _factories.clear()
