"""Shared fixtures: records databases on SQLite and PostgreSQL.

``db_url`` is parametrised over ``sqlite`` and ``postgresql``: every test that
uses it runs on both. The schema comes only from the Alembic migrations
(``bot.records.migrate.upgrade``). On SQLite they are applied once to a
template file that each test copies. On PostgreSQL one uniquely named
database is created and migrated per test session and dropped at the end;
after each test every table is truncated (creating a database per test costs
over half a second). Tests that change the schema itself use
``empty_db_url``, a database of their own.

PostgreSQL is expected on 127.0.0.1:5432, user ``postgres`` with trust
authentication (override with ``TEST_POSTGRES_DSN``, a libpq connection string
whose user may create databases). When it cannot be reached the PostgreSQL
tests fail; they are never skipped.

``tracker_db_url`` is a Rasa tracker store beside it, on the same backend.
"""
from __future__ import annotations

import os
from datetime import date
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

BACKENDS = ["sqlite", "postgresql"]
DEFAULT_PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"


def _pg_dsn() -> str:
    return os.environ.get("TEST_POSTGRES_DSN", DEFAULT_PG_DSN)


def _pg_admin():  # type: ignore[no-untyped-def]
    import psycopg

    try:
        return psycopg.connect(_pg_dsn(), autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required for the records tests and is unreachable "
            f"({_pg_dsn()!r}; set TEST_POSTGRES_DSN): {exc}",
            pytrace=False,
        )


def _pg_url(database: str) -> str:
    import psycopg

    info = psycopg.conninfo.conninfo_to_dict(_pg_dsn())
    url = make_url("postgresql+psycopg://").set(
        username=info.get("user") or "postgres",
        password=info.get("password"),
        host=info.get("host") or "127.0.0.1",
        port=int(info.get("port") or 5432),
        database=database,
    )
    return url.render_as_string(hide_password=False)


def _create_pg_database() -> str:
    name = f"records_test_{uuid.uuid4().hex[:16]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_pg_database(name: str) -> None:
    from bot.records.db import dispose_engines

    dispose_engines()
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bot.records.migrate import upgrade

    path = tmp_path_factory.mktemp("records-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _pg_database() -> Iterator[str]:
    from bot.records.migrate import upgrade

    name = _create_pg_database()
    try:
        upgrade(_pg_url(name))
        yield name
    finally:
        _drop_pg_database(name)


def _truncate_pg_database(name: str) -> None:
    import psycopg

    from bot.records.db import dispose_engines

    dispose_engines()
    dsn = psycopg.conninfo.make_conninfo(_pg_dsn(), dbname=name)
    with psycopg.connect(dsn, autocommit=True) as connection:
        # A test that left a transaction open fails here instead of hanging.
        connection.execute("SET lock_timeout = '10s'")
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ]
        if tables:
            listed = ", ".join(f'"{table}"' for table in tables)
            connection.execute(f"TRUNCATE TABLE {listed} RESTART IDENTITY CASCADE")


@pytest.fixture(params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    """``"sqlite"`` or ``"postgresql"``."""
    return str(request.param)


@pytest.fixture
def db_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a migrated records database with no rows, on each backend."""
    from bot.records.db import dispose_engines

    if db_backend == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "records.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        dispose_engines()
        return
    name: str = request.getfixturevalue("_pg_database")
    try:
        yield _pg_url(name)
    finally:
        _truncate_pg_database(name)


@pytest.fixture
def empty_db_url(db_backend: str, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database (no migrations applied) on each backend."""
    from bot.records.db import dispose_engines

    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        dispose_engines()
        return
    name = _create_pg_database()
    try:
        yield _pg_url(name)
    finally:
        _drop_pg_database(name)


@pytest.fixture
def tracker_db_url(db_backend: str, tmp_path: Path) -> Iterator[str]:
    """URL of an empty Rasa tracker store on ``db_url``'s backend (no file or table yet:
    ``tests/rasa_tracker.py`` writes it with Rasa's own ``SQLTrackerStore``)."""
    from bot import tracker_store

    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker' / 'rasa_tracker.db'}"
        tracker_store.dispose_engines()
        return
    name = _create_pg_database()
    try:
        yield _pg_url(name)
    finally:
        tracker_store.dispose_engines()
        _drop_pg_database(name)


@pytest.fixture
def db_engine(db_url: str):  # type: ignore[no-untyped-def]
    """An engine of its own for the test database, disposed afterwards."""
    from bot.records.db import make_engine

    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(db_engine) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    """A session on the test database; the test decides when to commit."""
    session = Session(db_engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of the migrated PostgreSQL test database, for PostgreSQL-only tests."""
    name: str = request.getfixturevalue("_pg_database")
    try:
        yield _pg_url(name)
    finally:
        _truncate_pg_database(name)


@pytest.fixture(scope="session", params=BACKENDS)
def seeded_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database with the demo identities, a small synthetic crowd and
    the knowledge base of ``knowledge/*.yml``, seeded once per test session and backend and shared by the tests that use it.

    Tests on it must not assume an empty database: they use their own
    conversation ids and look rows up by the ids they created.
    """
    from bot.records.db import session_scope
    from bot.records.migrate import upgrade
    from bot.knowledge.seed import read_seed
    from bot.records.knowledge_editing import load_seed
    from bot.records.seed import MIN_COUNT, seed

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('seeded') / 'records.db'}"
        name = None
    else:
        name = _create_pg_database()
        url = _pg_url(name)
    try:
        upgrade(url)
        with session_scope(url) as session:
            # "As of" the first of this month: the data looks current whenever the tests run.
            seed(session, count=MIN_COUNT, reference_date=date.today().replace(day=1))
            load_seed(session, read_seed())
        yield url
    finally:
        if name:
            _drop_pg_database(name)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator["Stack"]:
    """The real assistant (trained model, action server, records) for the whole
    test session, shared by the REST, voice and web chat end-to-end tests."""
    from tests.e2e.stack import Stack

    running = Stack(workdir=tmp_path_factory.mktemp("stack")).start()
    try:
        yield running
    finally:
        running.stop()
