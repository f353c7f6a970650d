"""Alembic environment of the records schema.

The URL comes from, in order: ``config.attributes["url"]`` (set by
``bot.records.migrate``), the ``sqlalchemy.url`` option, the ``DATABASE_URL``
setting. A caller may also hand over an open connection in
``config.attributes["connection"]``. SQLite uses batch mode (ALTER TABLE
through table copies).
"""
from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from bot.records.db import make_engine, normalize_url
from bot.records.schema import metadata
from bot.settings import load_settings

config = context.config
target_metadata = metadata


def _url() -> str:
    url: str | None = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    return url or load_settings().database_url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline() -> None:
    """Emit the SQL to stdout instead of running it (``alembic upgrade --sql``)."""
    context.configure(
        url=normalize_url(_url()),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=normalize_url(_url()).get_backend_name() == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
