"""Apply the records migrations: ``python -m bot.records.migrate [command]``.

The Alembic configuration is built here in code (no ``alembic.ini``); the
database URL defaults to the ``DATABASE_URL`` setting.

Commands: ``upgrade [--revision head]`` (the default), ``downgrade --revision R``,
``current``, ``check`` (exit 1 when the models and the migrations disagree) and
``revision -m MESSAGE`` (autogenerate a new migration to review and edit).
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from bot.records.db import make_engine
from bot.records.schema import metadata
from bot.settings import load_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic ``Config`` for the records migrations and ``url``.

    The URL travels in ``config.attributes`` rather than in the ini options,
    where a ``%`` in a password would be taken for interpolation.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url or load_settings().database_url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` (default: the setting) up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None, revision: str) -> None:
    """Take the database back to ``revision`` (``base`` empties it)."""
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at, or None for an unmigrated database."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def schema_diff(url: str | None = None) -> list[Any]:
    """Differences between the models and the migrated database (empty when they agree)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.records.migrate", description="Records database migrations."
    )
    parser.add_argument("command", nargs="?", default="upgrade",
                        choices=["upgrade", "downgrade", "current", "check", "revision"])
    parser.add_argument("--url", help="database URL (default: DATABASE_URL)")
    parser.add_argument("--revision", default=None, help="target revision")
    parser.add_argument("-m", "--message", help="message of a new revision")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    if args.command == "upgrade":
        upgrade(args.url, args.revision or "head")
    elif args.command == "downgrade":
        if not args.revision:
            parser.error("downgrade needs --revision (e.g. -1 or base)")
        downgrade(args.url, args.revision)
    elif args.command == "current":
        print(current_revision(args.url) or "(none)")
    elif args.command == "check":
        diff = schema_diff(args.url)
        for item in diff:
            print(item)
        return 1 if diff else 0
    elif args.command == "revision":
        if not args.message:
            parser.error("revision needs -m MESSAGE")
        command.revision(alembic_config(args.url), message=args.message, autogenerate=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
